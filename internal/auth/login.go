package auth

import (
	"errors"
	"fmt"
	"log/slog"
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
	perClient limit
	perUser   limit // counts failed logins only
	log       *slog.Logger
	now       func() time.Time
}

// NewService returns a Service over users, with the login limits counted
// where limits.Counter says: in this process's memory by default, where
// each replica counts alone.
func NewService(users Directory, limits Limits, log *slog.Logger) *Service {
	counter := func(string) httprate.LimitCounter { return nil }
	if limits.Counter != nil {
		counter = limits.Counter
	}
	return &Service{
		users:     users,
		perClient: newLimit(limits.PerClient, limits.Window, counter(LimitClient)),
		perUser:   newLimit(limits.PerUsername, limits.Window, counter(LimitUsername)),
		log:       log,
		now:       time.Now,
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
// in from a few browsers in a row is not guessing. When the limits cannot
// be counted the login is refused with ErrLimitsUnavailable, before the
// password is checked (see NewRedisCounter).
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
	now := s.now()
	if err := s.checkLimits(w, now, clientIP, userKey); err != nil {
		if errors.Is(err, ErrTooManyAttempts) {
			s.log.WarnContext(ctx, "login rate limited", "client", clientIP)
		}
		return User{}, err
	}
	user, err := s.users.Authenticate(ctx, username, password)
	if errors.Is(err, ErrBadCredentials) {
		// The failure keeps the username's attempt that checkLimits took.
		s.log.InfoContext(ctx, "login failed", "client", clientIP)
		return User{}, err
	}
	// A right password, or a directory that failed, is no guess: the
	// attempt goes back. If it cannot, the username is a little closer to
	// its limit, which is no reason to refuse this login.
	if gerr := s.perUser.giveBack(userKey, now, s.now()); gerr != nil {
		s.log.WarnContext(ctx, "login attempt not given back", slog.Any("err", gerr))
	}
	if err != nil {
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

// checkLimits takes one of the client's attempts, and one of the
// username's failed attempts, which Login gives back unless the password
// was wrong: taken before the password is checked, it holds under
// concurrent guesses too, where a count after bcrypt would let every guess
// of a burst through. On a limit it sets Retry-After to the window's length
// (RFC 6585), as httprate does, and returns ErrTooManyAttempts; when the
// limits cannot be counted, it returns ErrLimitsUnavailable.
func (s *Service) checkLimits(w http.ResponseWriter, now time.Time, clientIP, userKey string) error {
	over, err := s.perClient.spend(clientIP, now)
	if err != nil {
		return fmt.Errorf("login limit per client: %w", err)
	}
	if !over {
		if over, err = s.perUser.spend(userKey, now); err != nil {
			return fmt.Errorf("login limit per username: %w", err)
		}
	}
	if over {
		w.Header().Set("Retry-After", strconv.Itoa(int(s.perClient.window/time.Second)))
		return ErrTooManyAttempts
	}
	return nil
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
