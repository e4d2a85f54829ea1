// Command floor is the benchmark harness's floor: a plain net/http server
// answering every GET with the same pre-rendered page (a file, typically
// a hub page saved from the run), so hubdesk's throughput can be read as
// a share of what net/http alone does on the same machine in the same run.
//
//	floor -addr 127.0.0.1:9000 -page page.html
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
	"strconv"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "address to listen on")
	path := flag.String("page", "", "the page to serve")
	flag.Parse()
	page, err := os.ReadFile(*path)
	if err != nil {
		log.Fatal(err)
	}
	length := strconv.Itoa(len(page))
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Length", length)
		w.Write(page)
	})))
}
