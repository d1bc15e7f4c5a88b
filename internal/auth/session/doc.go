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
// sessions; [Manager.RequireAuth] guards the protected ones:
//
//	m, err := session.New(session.Options[*AppData]{
//		Store:   redisstore.New(client),
//		Secrets: [][]byte{secret},
//		New:     func() *AppData { return &AppData{} },
//	})
//	r.Group(func(r chi.Router) {
//		r.Use(m.Middleware)
//		r.Post("/login", login)
//		r.With(m.RequireAuth).Get("/me", me)
//	})
//
// A handler gets the session with [From] and changes its data in place:
//
//	s := session.From[*AppData](r.Context())
//	s.Data().UserID = user.ID // turning authenticated renews the id
//
// # Lifecycle
//
//   - A request without a cookie runs with a new session that is stored only
//     if something is written to it: anonymous browsing costs no store write.
//   - A new session lives InitialLifetime. When its data turns authenticated
//     (login), or its group changes, or Renew is called, the session moves
//     to a new id with its data, the old id is deleted, and an authenticated
//     session lives Lifetime from then on: the session-fixation defence.
//   - Destroy deletes the session and clears the cookie (logout);
//     DestroyGroup ends every session of the group (log out everywhere).
//   - Expiry, absolute and idle, is checked by the Manager on every load;
//     the store's TTL only collects garbage.
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
// The commit happens just before the response header is written, so a
// redirect never races the store write and a failed commit is answered with
// a 503. A data-only change made later (a flash popped while rendering) is
// saved when the handler returns. A change that needs a new cookie at that
// point (create, renew, destroy) cannot take effect: it returns
// ErrHeadersWritten and is logged. A response with a 5xx status commits
// nothing.
//
// # Cookie
//
// The cookie value is "<id>.<sig>": id is 32 random bytes in base64url,
// sig is HMAC-SHA256(secret, id) in standard base64 without padding, the
// signed-cookie format of @fastify/cookie. The first secret signs and every
// secret verifies; a cookie signed with an older secret is re-issued. A
// malformed, oversized or forged cookie costs no store call and is cleared.
// Stores key sessions by handle = base64url(SHA-256(id)), never by the id,
// and logs carry only a handle prefix.
//
// # Store round trips
//
// With the Redis store: no cookie or a forged one, 0; a read-only request,
// 1 (the load, including a due idle touch); a modifying request, 2 (load and
// patch); a login, 2 (load, then create-and-replace in one pipeline).
package session
