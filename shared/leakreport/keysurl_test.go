package leakreport_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/apitokens/apitokens/shared/leakreport"
)

func TestCheckKeysURL(t *testing.T) {
	accepted := []string{
		leakreport.DefaultKeysURL,
		"https://keys.internal.example/secret_scanning",
		"https://127.0.0.1:8443/keys",
		"http://127.0.0.1:3000/github/keys", // the local run
		"http://127.1.2.3/keys",
		"http://[::1]:3000/keys",
		"http://localhost:3000/keys",
	}
	refused := []string{
		"http://api.github.com/meta/public_keys/secret_scanning",
		"http://10.0.0.5/keys",
		"http://127.0.0.1.attacker.example/keys",
		"http://localhost.attacker.example/keys",
		"http://[::ffff:10.0.0.1]/keys",
		"ftp://127.0.0.1/keys",
		"https://",
		"https:keys",
		"//api.github.com/keys",
		"api.github.com/keys",
		"not a url at all",
	}
	for _, u := range accepted {
		if err := leakreport.CheckKeysURL(u); err != nil {
			t.Errorf("CheckKeysURL(%q) = %v, want nil", u, err)
		}
	}
	for _, u := range refused {
		if err := leakreport.CheckKeysURL(u); !errors.Is(err, leakreport.ErrInsecureKeysURL) {
			t.Errorf("CheckKeysURL(%q) = %v, want ErrInsecureKeysURL", u, err)
		}
	}
}

func TestKeysFromEnv(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == leakreport.KeysURLVariable {
				return v
			}
			return ""
		}
	}
	for _, v := range []string{"", leakreport.DefaultKeysURL, "http://127.0.0.1:3000/keys"} {
		if k, err := leakreport.KeysFromEnv(env(v), http.DefaultClient); err != nil || k == nil {
			t.Errorf("KeysFromEnv with %q: got %v, %v; want a key source", v, k, err)
		}
	}
	secret := "http://user:hunter2@keys.example/keys"
	k, err := leakreport.KeysFromEnv(env(secret), http.DefaultClient)
	if k != nil || !errors.Is(err, leakreport.ErrInsecureKeysURL) {
		t.Fatalf("KeysFromEnv with an http URL: got %v, %v; want ErrInsecureKeysURL", k, err)
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "keys.example") {
		t.Errorf("the error repeats the URL: %v", err)
	}
}
