package app

// LiveStreams is how many response streams the app tracks (each is
// untracked when the server stops sending it).
func LiveStreams(a *App) int {
	l := a.liveState()
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.streams)
}
