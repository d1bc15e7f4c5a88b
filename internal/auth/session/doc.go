// Package session keeps server-side sessions for net/http and chi: typed
// session data with change tracking, signed cookies with secret rotation,
// initial and authenticated lifetimes, an optional idle timeout, session
// groups (list and log out a user's sessions), and no lost updates under
// concurrent requests. It is the Go successor of the session mechanism of
// the TypeScript library @hexancore/auth.
//
// # Wiring
//
// The app defines its data type (a pointer to a struct that implements
// [Data]), picks a [Store] (memstore for dev and tests, redisstore for
// production) and mounts [Manager.Middleware] on the routes that use
// sessions; [Manager.RequireAuth] guards the protected ones, and
// [Manager.RequireRecentAuth] the sensitive ones:
//
//	m, err := session.New(session.Options[*AppData]{
//		Store:               redisstore.New(client),
//		Secrets:             [][]byte{secret},
//		New:                 func() *AppData { return &AppData{} },
//		MaxSessionsPerGroup: 20,
//	})
//	r.Group(func(r chi.Router) {
//		r.Use(m.Middleware)
//		r.Post("/login", login)
//		r.With(m.RequireAuth).Get("/me", me)
//		r.With(m.RequireRecentAuth(10*time.Minute)).Post("/logout-all", logoutAll)
//	})
//
// A handler gets the session with [Manager.From] and changes its data in
// place; a login, once the password is checked, is [Session.Login]:
//
//	s := m.From(r.Context())
//	s.Data().Theme = "dark"
//	err := s.Login(remember, func(d *AppData) { d.UserID = user.ID })
//
// Each Manager has a context key of its own, so two Managers (say, one for
// users and one for admins) never hide each other's session.
//
// # Lifecycle
//
//   - A request without a cookie runs with a new session that is stored only
//     if the app writes to its data: anonymous browsing costs no store
//     write. A flash message for a visitor without a stored session ("Please
//     log in.", "You have been logged out.") travels in a short-lived signed
//     flash cookie instead, so that no crowd of visitors or bots fills the
//     store.
//   - A new session lives InitialLifetime.
//   - Login moves the session to a new id, deletes the old one (the
//     session-fixation defence), gives it a fresh Lifetime from now and
//     records the time as its AuthTime: every login is a fresh one, also
//     over a session that was logged in already. A Login as another group
//     (another user) starts from New(): nothing of one user survives into
//     the next one's session. Login's remember argument picks the cookie:
//     kept until the absolute deadline ("remember me"), or a browser-session
//     cookie. Data that turns authenticated or changes group without Login
//     is a login too (new id, fresh lifetime), but the Manager cannot tell
//     the new user's fields from the last one's, so it keeps the data, and
//     logs a warning when the group changed: use Login.
//   - Renew moves the session to a new id on any other privilege change,
//     keeping its deadline and AuthTime.
//   - MaxSessionsPerGroup caps a group's sessions: a login past it ends the
//     ones with the earliest deadlines (the oldest logins), each logged. With
//     an idle timeout, on Redis, a session that died of idleness may still
//     count until its absolute deadline or the next listing of the group.
//   - RequireRecentAuth lets only a session whose AuthTime is recent take a
//     sensitive action (revoke another session, log out everywhere, change a
//     password); the app asks for the password again otherwise.
//   - Destroy deletes the session and clears the cookie (logout), with an
//     optional Clear-Site-Data: "cookies"; DestroyGroup ends every session
//     of the group (log out everywhere).
//   - Expiry, absolute and idle, is checked by the Manager on every load;
//     the store's TTL only collects garbage. An idle timeout is refreshed at
//     most once per min(max(1 minute, IdleTimeout/10), IdleTimeout/2), so a
//     user active at least every IdleTimeout/2 stays logged in.
//
// # Commit
//
// The Manager compares every top-level JSON field of the data with its value
// at load time and writes only the fields that changed, as one atomic patch
// of a record that must still exist. So an unchanged session is never
// written, two concurrent requests that change different fields both
// persist (for the same field the last writer wins), and a request still in
// flight during logout or login cannot bring the old session back.
//
// The commit happens just before the response header is written (or the
// connection is hijacked, for a WebSocket upgrade), so a redirect never
// races the store write and a failed commit is answered with a 503. A
// data-only change made later (a flash popped while rendering) is saved when
// the handler returns, for a stored session: the flashes of a visitor
// without one live in the flash cookie, which only the header can change,
// so pop them before the first byte (render into a buffer). A change that needs a new cookie at that point
// (create, login, renew, destroy) cannot take effect: it returns
// ErrHeadersWritten and is logged, and so is a change that cannot be
// encoded. A response with a 5xx status commits nothing. A client that hangs
// up is no store outage: the error wraps context.Canceled, not
// ErrStoreUnavailable.
//
// # Events
//
// Every session event (created, authenticated, renewed, destroyed, revoked,
// evicted, expired, invalid cookie, rejected record, store unavailable) is
// logged with a short handle and handed to Options.OnEvent once it has
// happened, so an audit line or a metric never counts a login that a store
// failure undid.
//
// # Cookie
//
// The cookie value is "<id>.<sig>": id is 32 random bytes in base64url,
// sig is HMAC-SHA256(secret, id) in standard base64 without padding, the
// signed-cookie format of @fastify/cookie. The first secret signs and every
// secret verifies; a cookie signed with an older secret is re-issued. A
// malformed, oversized or forged cookie costs no store call and is cleared.
// Of duplicate cookies the first counts. Stores key sessions by handle =
// base64url(SHA-256(id)), never by the id, and logs carry only ShortHandle.
// The flash cookie is signed with a key derived from each secret, so that
// neither cookie's signature ever verifies as the other's.
//
// # Store round trips
//
// With the Redis store: no cookie or a forged one, 0; a read-only request,
// 1 (the load, including a due idle touch); a modifying request, 2 (load and
// patch); a login, 2 (load, then create-and-replace in one pipeline), 3 when
// it ends sessions past MaxSessionsPerGroup.
package session
