package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/httprate"

	"github.com/hexchi/starter/internal/auth/session"
)

// Sessions is the session manager of the demo app's data type.
type Sessions = session.Manager[*SessionData]

// Session is one request's session.
type Session = session.Session[*SessionData]

// ErrTooManyAttempts means that the login rate limit for this client or
// username is spent; the response carries Retry-After.
var ErrTooManyAttempts = errors.New("too many login attempts")

// ErrInvalidCredentials means that the login request itself is malformed
// (empty or oversized fields), as opposed to wrong.
var ErrInvalidCredentials = errors.New("invalid login request")

// Limits of the login form's fields, in characters as api/openapi.yaml's
// maxLength counts them: enough for any real name or password, small enough
// that bcrypt (which reads 72 bytes) and logs stay cheap.
const (
	maxUsername = 64
	maxPassword = 256
)

// Service logs users in and out. The JSON API and the HTML pages both use
// it, so that both get the same checks, limits and session handling.
type Service struct {
	users     Directory
	perClient *httprate.RateLimiter
	perUser   *httprate.RateLimiter // counts failed logins only
	limits    Limits
	log       *slog.Logger
}

// Limits configures the login rate limits.
type Limits struct {
	PerClient   int // attempts per window from one client IP, right or wrong
	PerUsername int // failed attempts per window for one username
	Window      time.Duration
}

// NewService returns a Service over users. The limiters count in this
// process's memory: behind several replicas each one counts alone, so the
// effective limit is multiplied by the replica count (a shared counter,
// e.g. in Redis, is the next step when that matters).
func NewService(users Directory, limits Limits, log *slog.Logger) *Service {
	return &Service{
		users:     users,
		perClient: httprate.NewRateLimiter(limits.PerClient, limits.Window),
		perUser:   httprate.NewRateLimiter(limits.PerUsername, limits.Window),
		limits:    limits,
		log:       log,
	}
}

// Login checks the credentials and, when they are right, logs the session
// in (session.Session.Login): when the response is committed it moves to a
// new id (the fixation defence), gets the authenticated lifetime and a new
// login time, and starts from new data if it was another user's. remember
// asks for a cookie that outlives the browser. clientIP keys the per-client
// limit. On a limit, the Retry-After header is already set on w.
//
// The per-client limit counts every attempt; the per-username limit counts
// failures only: it is there to stop password guessing, and a user who logs
// in from a few browsers in a row is not guessing.
//
// Login writes no audit line itself: the login has not happened until the
// session is stored, and the app logs it then (session.Options.OnEvent).
func (s *Service) Login(w http.ResponseWriter, r *http.Request, sess *Session, clientIP, username, password string, remember bool) (User, error) {
	ctx := r.Context()
	if err := checkCredentials(username, password); err != nil {
		return User{}, err
	}
	// Usernames are matched as typed, but limited case-insensitively, so
	// that "Demo" and "demo" share one budget.
	userKey := strings.ToLower(username)
	if s.perClient.OnLimit(w, r, clientIP) || s.failuresSpent(w, userKey) {
		s.log.WarnContext(ctx, "login rate limited", "client", clientIP)
		return User{}, ErrTooManyAttempts
	}
	user, err := s.users.Authenticate(ctx, username, password)
	if err != nil {
		if errors.Is(err, ErrBadCredentials) {
			s.log.InfoContext(ctx, "login failed", "client", clientIP)
			// The failure spends one of the username's attempts. Two
			// failures at once may both pass the check above: the limit is
			// off by the number of concurrent attempts at most.
			s.perUser.OnLimit(w, r, userKey)
		}
		return User{}, err
	}
	err = sess.Login(remember, func(d *SessionData) { d.UserID, d.Username = user.ID, user.Name })
	if err != nil {
		return User{}, fmt.Errorf("log in: %w", err)
	}
	return user, nil
}

// Confirm asks a logged-in user for their password again before an action
// that needs a recent login (session.Manager.RequireRecentAuth): a right
// password is a new login of the same user, with its limits, which makes
// the session's login time recent and keeps the cookie the user chose.
func (s *Service) Confirm(w http.ResponseWriter, r *http.Request, sess *Session, clientIP, password string) error {
	if !sess.IsAuthenticated() {
		return session.ErrUnauthenticated
	}
	_, err := s.Login(w, r, sess, clientIP, sess.Data().Username, password, sess.Remembered())
	return err
}

// failuresSpent reports whether the username has no failed attempt left in
// the window, and then sets Retry-After, as the limiter does on its limits.
func (s *Service) failuresSpent(w http.ResponseWriter, userKey string) bool {
	// A memory counter never fails; a shared one that does is treated as a
	// spent budget (fail closed): a login is refused rather than guessed.
	_, rate, err := s.perUser.Status(userKey)
	if err != nil || int(math.Round(rate))+1 > s.limits.PerUsername {
		w.Header().Set("Retry-After", strconv.Itoa(int(s.limits.Window/time.Second)))
		return true
	}
	return false
}

// checkCredentials rejects a login request that cannot be right, before any
// limit is spent or bcrypt runs.
func checkCredentials(username, password string) error {
	switch {
	case username == "" || password == "":
		return fmt.Errorf("%w: username and password are required", ErrInvalidCredentials)
	case utf8.RuneCountInString(username) > maxUsername || utf8.RuneCountInString(password) > maxPassword:
		return fmt.Errorf("%w: username or password too long", ErrInvalidCredentials)
	case !utf8.ValidString(username):
		return fmt.Errorf("%w: username is not valid UTF-8", ErrInvalidCredentials)
	}
	return nil
}
