package desk

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/hubdesk/hubdesk/internal/attachment"
	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/database"
)

// AttachmentFiles serves the files of ticket messages to the shop's staff.
type AttachmentFiles struct {
	*Desk
	Attachments *attachment.Store
}

// Download serves one file of a ticket as a download (attachment.Serve:
// sniffed type, sandboxing CSP, nosniff); ?inline=1 shows a raster image
// in place, for the ticket view's thumbnails. A file of another shop, or
// of another ticket than the one in the path, is a 404.
func (f *AttachmentFiles) Download(w http.ResponseWriter, r *http.Request) {
	ticketID, err1 := strconv.ParseInt(r.PathValue("id"), 10, 64)
	id, err2 := strconv.ParseInt(r.PathValue("attachmentID"), 10, 64)
	if err1 != nil || err2 != nil {
		f.NotFound(w, r)
		return
	}
	file, err := f.Attachments.Open(r.Context(), auth.UserFrom(r.Context()).ShopID, id)
	switch {
	case errors.Is(err, database.ErrNotFound) || err == nil && file.TicketID != ticketID:
		f.NotFound(w, r)
	case err != nil:
		f.serverError(w, r, err)
	default:
		attachment.Serve(w, r, file, r.URL.Query().Get("inline") == "1")
	}
}
