package schemas

import (
	"slices"
	"testing"
)

func TestScenarioRequestsInOrder(t *testing.T) {
	q := func(name string) Request { return Request{Name: name} }
	s := Scenario{
		Setup:    []Request{q("login")},
		Tasks:    []Task{{Name: "a", Requests: []Request{q("a1"), q("a2")}}, {Name: "b", Requests: []Request{q("b1")}}},
		Teardown: []Request{q("logout")},
	}
	s.Setup = slices.Grow(s.Setup, 4) // room to append in place, were the list to share it
	var names []string
	all := s.Requests()
	for _, r := range all {
		names = append(names, r.Name)
	}
	if want := []string{"login", "a1", "a2", "b1", "logout"}; !slices.Equal(names, want) {
		t.Errorf("requests %v, want %v", names, want)
	}
	all[0].Name = "changed"
	if s.Setup[0].Name != "login" || len(s.Setup) != 1 || cap(s.Setup) < 4 {
		t.Errorf("the list shares the scenario's setup: %+v", s.Setup)
	}
	if s.Setup[:2][1].Name != "" {
		t.Errorf("listing wrote into the setup's spare room: %+v", s.Setup[:2])
	}
	if got := (Scenario{}).Requests(); len(got) != 0 {
		t.Errorf("empty scenario: %v", got)
	}
}
