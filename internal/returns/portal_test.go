package returns

import "testing"

func TestPortalURL(t *testing.T) {
	cases := []struct {
		name, base string
		params     [][2]string
		want       string
	}{
		{"hash in the order name is encoded", "https://shop.returnscenter.com/", [][2]string{{"order_number", "#1001"}, {"email", "ada@example.com"}},
			"https://shop.returnscenter.com/?order_number=%231001&email=ada%40example.com"},
		{"merchant query kept first", "https://returns.narvar.com/acme/returns?lang=en", [][2]string{{"order", "#1001"}, {"email", "a+b@x.io"}},
			"https://returns.narvar.com/acme/returns?lang=en&order=%231001&email=a%2Bb%40x.io"},
		{"same name replaced in place", "https://x.example/r?order=OLD&lang=de", [][2]string{{"order", "#7"}},
			"https://x.example/r?order=%237&lang=de"},
		{"empty values skipped", "https://x.example/r", [][2]string{{"order", "#7"}, {"email", ""}}, "https://x.example/r?order=%237"},
		{"spaces and ampersands cannot add parameters", "https://x.example/r", [][2]string{{"email", "a@x.io&redirect=https://evil"}},
			"https://x.example/r?email=a%40x.io%26redirect%3Dhttps%3A%2F%2Fevil"},
		{"host never changes", "https://x.example/r", [][2]string{{"order", "@evil.example/"}}, "https://x.example/r?order=%40evil.example%2F"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := PortalURL(c.base, c.params...)
			if err != nil || got != c.want {
				t.Fatalf("PortalURL = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestValidatePortalURL(t *testing.T) {
	ok := []string{"https://returns.example.com/", "https://x.example/a?b=c", "http://127.0.0.1:8089/portal/", "http://localhost:3000/r"}
	for _, u := range ok {
		if _, err := ValidatePortalURL(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	bad := []string{"", "returns.example.com", "/relative", "ftp://x.example/", "http://returns.example.com/", "https://user:pw@x.example/",
		"javascript:alert(1)", "https://x.example/#frag", "https://" + string(make([]byte, 2100))}
	for _, u := range bad {
		if _, err := ValidatePortalURL(u); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}
