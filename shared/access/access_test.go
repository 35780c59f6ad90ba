package access

import (
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	agent := Principal{UserID: "ann", EnvironmentID: "e1"}
	admin := Principal{UserID: "adam", EnvironmentID: "e1", Admin: true}
	own := Owner{UserID: "ann", EnvironmentID: "e1"}
	colleague := Owner{UserID: "carl", EnvironmentID: "e1"}
	foreign := Owner{UserID: "ann", EnvironmentID: "e2"}
	all := []Action{Read, Rename, Reveal, Deactivate, Activate, Delete, Audit}

	for _, a := range all {
		if err := agent.Check(a, own); err != nil {
			t.Errorf("agent, own token, action %d: got %v, want nil", a, err)
		}
		if err := agent.Check(a, colleague); !errors.Is(err, ErrNotFound) {
			t.Errorf("agent, colleague's token, action %d: got %v, want ErrNotFound", a, err)
		}
		for _, p := range []Principal{agent, admin} {
			if err := p.Check(a, foreign); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s, other environment, action %d: got %v, want ErrNotFound", p.UserID, a, err)
			}
		}
		want := error(nil)
		if a == Reveal {
			want = ErrOwnerOnly
		}
		if err := admin.Check(a, colleague); !errors.Is(err, want) {
			t.Errorf("admin, colleague's token, action %d: got %v, want %v", a, err, want)
		}
		if err := admin.Check(a, Owner{UserID: "adam", EnvironmentID: "e1"}); err != nil {
			t.Errorf("admin, own token, action %d: got %v, want nil", a, err)
		}
	}
}

func TestCheckCreate(t *testing.T) {
	if err := (Principal{}).CheckCreate(true); !errors.Is(err, ErrAdminRequired) {
		t.Errorf("agent creating an admin token: got %v, want ErrAdminRequired", err)
	}
	if err := (Principal{}).CheckCreate(false); err != nil {
		t.Errorf("agent creating a user token: got %v, want nil", err)
	}
	if err := (Principal{Admin: true}).CheckCreate(true); err != nil {
		t.Errorf("admin creating an admin token: got %v, want nil", err)
	}
}

func TestListOwner(t *testing.T) {
	agent := Principal{UserID: "ann", EnvironmentID: "e1"}
	admin := Principal{UserID: "adam", EnvironmentID: "e1", Admin: true}
	cases := []struct {
		p       Principal
		owner   string
		want    string
		wantErr error
	}{
		{agent, "", "ann", nil},
		{agent, "me", "ann", nil},
		{agent, "ann", "ann", nil},
		{agent, "all", "", ErrAdminRequired},
		{agent, "carl", "", ErrAdminRequired},
		{admin, "me", "adam", nil},
		{admin, "all", "", nil},
		{admin, "carl", "carl", nil},
	}
	for _, c := range cases {
		got, err := c.p.ListOwner(c.owner)
		if got != c.want || !errors.Is(err, c.wantErr) {
			t.Errorf("%s lists owner=%q: got %q, %v; want %q, %v", c.p.UserID, c.owner, got, err, c.want, c.wantErr)
		}
	}
}
