package ticket

// WithRankWindow returns the store ranking only the newest n matches of a
// search, so tests can pass the window with a handful of tickets.
func (s *Store) WithRankWindow(n int) *Store {
	c := *s
	c.rankWindow = n
	return &c
}
