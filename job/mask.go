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
// dashes or parentheses (Cognito stores numbers in E.164 form, with the plus),
// or ten to fifteen digits in a row. Dates and counts do not match.
var phoneLike = regexp.MustCompile(`\+\(?\d(?:[\s().-]?\d){6,}|\b\d{10,15}\b`)

// MaskPhones masks every phone-like number in free text, such as an error
// message that quotes an attribute value. It is a safety net for logs; the
// report masks its phone column with MaskPhone.
func MaskPhones(text string) string {
	if !strings.ContainsAny(text, "0123456789") {
		return text
	}
	return phoneLike.ReplaceAllStringFunc(text, MaskPhone)
}
