package attachment

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// Serve answers with a stored file as a download: the sniffed type (and
// OctetStream for anything off the allow-list), Content-Disposition:
// attachment, nosniff, a CSP that sandboxes the response should a browser
// ever render it as a document (no script, no same origin, no requests),
// and Cross-Origin-Resource-Policy so other sites cannot embed it. inline
// shows a PNG, JPEG, GIF or WebP image in place (the ticket view's
// thumbnails); every other type stays a download even when asked. Range
// and conditional requests are answered by http.ServeContent, with the
// stored sha256 as ETag.
func Serve(w http.ResponseWriter, r *http.Request, f *File, inline bool) {
	h := w.Header()
	contentType := f.ContentType
	if !servable(contentType) {
		contentType = OctetStream
	}
	disposition := "attachment"
	if inline && InlineImage(contentType) {
		disposition = "inline"
	}
	if contentType == "text/plain" || contentType == "text/csv" {
		contentType += "; charset=utf-8"
	}
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", ContentDisposition(disposition, f.Filename))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	// A file never changes: the browser may keep it for this user and
	// revalidate it by its hash, but no shared cache may hold it.
	h.Set("Cache-Control", "private, no-cache")
	h.Set("ETag", `"`+f.SHA256+`"`)
	http.ServeContent(w, r, "", f.CreatedAt, bytes.NewReader(f.Data))
}

// servable are the stored types served as themselves.
func servable(contentType string) bool {
	if allowed[contentType] || contentType == "text/csv" {
		return true
	}
	for _, m := range []map[string]string{zipByExtension, oleByExtension} {
		for _, t := range m {
			if t == contentType {
				return true
			}
		}
	}
	return false
}

// uploadMemory is how much of a form's files ParseUploads keeps in memory;
// the rest goes to temporary files until it has read them.
const uploadMemory = 1 << 20

// ParseUploads reads the files of a multipart form's field (a desk reply
// form's <input type=file multiple>), under the limits: the body is cut
// at MaxRequestBytes, a file over MaxFileBytes or a form over
// MaxFilesPerMessage files is refused with a ValidationError naming it,
// before the files' bytes are read. A form that is not multipart has no
// files (nil, nil). The multipart form's temporary files are removed
// before it returns; the files' bytes are in the uploads.
func ParseUploads(r *http.Request, field string) ([]Upload, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "multipart/form-data" {
		return nil, nil
	}
	if r.MultipartForm == nil {
		r.Body = http.MaxBytesReader(nil, r.Body, MaxRequestBytes)
		err := r.ParseMultipartForm(uploadMemory)
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return nil, &ValidationError{Problem: fmt.Sprintf("the form is larger than %d MiB", MaxRequestBytes>>20)}
		case err != nil:
			return nil, fmt.Errorf("attachments: read the form: %w", err)
		}
	}
	defer r.MultipartForm.RemoveAll()
	headers := r.MultipartForm.File[field]
	if len(headers) > MaxFilesPerMessage {
		return nil, &ValidationError{Problem: fmt.Sprintf("at most %d files per message", MaxFilesPerMessage)}
	}
	var uploads []Upload
	for _, fh := range headers {
		if fh.Size > MaxFileBytes {
			return nil, &ValidationError{Filename: CleanFilename(fh.Filename), Problem: fmt.Sprintf("is larger than %d MiB", MaxFileBytes>>20)}
		}
		f, err := fh.Open()
		if err != nil {
			return nil, fmt.Errorf("attachments: open %q: %w", fh.Filename, err)
		}
		data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("attachments: read %q: %w", fh.Filename, err)
		}
		uploads = append(uploads, Upload{Filename: fh.Filename, Data: data})
	}
	if err := Check(uploads); err != nil {
		return nil, err
	}
	return uploads, nil
}
