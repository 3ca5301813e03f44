package job

import (
	"fmt"
	"regexp"
	"strings"
)

// MaskPhone masks a phone number for reports and logs: it keeps the plus
// sign, the first digit of the country code and the last four digits, and
// hides the rest behind a fixed number of stars so the length is hidden too:
// "+14155550100" becomes "+1******0100". A value with fewer than six digits
// is hidden entirely. An empty value stays empty.
func MaskPhone(phone string) string {
	if phone == "" {
		return ""
	}
	first, last4, ok := phoneParts(phone)
	if !ok {
		return "******"
	}
	return fmt.Sprintf("+%d******%04d", first, last4)
}

// phoneParts returns the first digit and the last four digits of phone, or
// false if it has fewer than six digits.
func phoneParts(phone string) (first, last4 int, ok bool) {
	var digits []byte
	for i := 0; i < len(phone); i++ {
		if c := phone[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	if len(digits) < 6 {
		return 0, 0, false
	}
	first = int(digits[0] - '0')
	for _, c := range digits[len(digits)-4:] {
		last4 = last4*10 + int(c-'0')
	}
	return first, last4, true
}

// phoneLike matches runs that look like phone numbers in free text: a plus
// sign followed by at least seven digits, possibly separated by spaces, dots,
// dashes or parentheses (Cognito stores numbers in E.164 form, with the plus).
var phoneLike = regexp.MustCompile(`\+\(?\d(?:[\s().-]?\d){6,}`)

// maskPhones masks every phone-like number in free text, such as an error
// message that quotes an attribute value: numbers with a plus sign, and runs
// of ten to fifteen digits that stand alone as a word (a number quoted
// without its plus). Digits inside a path, a name or an identifier (a
// folder such as export-1764132000/) are left alone so that logs stay
// usable. It is a safety net for logs; the report masks its phone column
// with MaskPhone.
func maskPhones(text string) string {
	if !strings.ContainsAny(text, "0123456789") {
		return text
	}
	text = phoneLike.ReplaceAllStringFunc(text, MaskPhone)
	var b strings.Builder
	last := 0
	for i := 0; i < len(text); {
		if !isDigit(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isDigit(text[j]) {
			j++
		}
		if n := j - i; n >= 10 && n <= 15 && standsAlone(text, i, j) {
			b.WriteString(text[last:i])
			b.WriteString(MaskPhone(text[i:j]))
			last = j
		}
		i = j
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// standsAlone reports whether text[i:j] is delimited like a word: by the
// start or end of the text, white space, quotes, brackets or punctuation
// that ends a phrase — not by letters, slashes, dashes, underscores or dots
// inside a name.
func standsAlone(text string, i, j int) bool {
	before := i == 0 || strings.IndexByte(" \t\r\n\"'(=:,[{", text[i-1]) >= 0
	after := j == len(text) || strings.IndexByte(" \t\r\n\"'),;]}", text[j]) >= 0 ||
		(text[j] == '.' && (j+1 == len(text) || text[j+1] == ' ' || text[j+1] == '\n'))
	return before && after
}

// secretPatterns match credential material in free text: an Authorization
// header, a SigV4 credential scope or signature, a security token, a secret
// key, an access key ID.
var secretPatterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`(?i)\b(authorization)(["']?\s*[:=]\s*["']?)[^"'\r\n]+`), "${1}${2}[REDACTED]"},
	{regexp.MustCompile(`AWS4-(HMAC-SHA256|ECDSA-P256-SHA256)\s+\S+`), "AWS4-${1} [REDACTED]"},
	{regexp.MustCompile(`(?i)\b(x-amz-security-token|x-amz-signature|x-amz-credential|signature|credential|aws_session_token|aws_secret_access_key|secret_?access_?key|session_?token|security_?token)(["']?\s*[:=]\s*["']?)[^\s"'&,;]+`), "${1}${2}[REDACTED]"},
	{regexp.MustCompile(`\b(AKIA|ASIA)[A-Z0-9]{12,}\b`), "${1}[REDACTED]"},
}

// Scrub makes free text safe to print: it masks phone numbers (maskPhones)
// and replaces credential material that a message might quote (an
// Authorization header, a SigV4 signature or credential scope, a session
// token, a secret key, an access key ID) by [REDACTED]. Logs, error
// messages and the summary go through it.
func Scrub(text string) string {
	text = maskPhones(text)
	for _, p := range secretPatterns {
		text = p.re.ReplaceAllString(text, p.repl)
	}
	return text
}
