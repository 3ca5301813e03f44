package cognitotest

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// STS speaks the AWS query protocol: a form-encoded POST
// (Action=GetCallerIdentity&Version=2011-06-15) answered in XML, errors as
// <ErrorResponse><Error><Type/><Code/><Message/></Error></ErrorResponse>.
// The server answers GetCallerIdentity on its own URL, so an STS client
// aimed at Server.URL (AWS_ENDPOINT_URL_STS) gets the server's account.

const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// isSTS reports whether r is an AWS query protocol request rather than a
// Cognito JSON one.
func isSTS(r *http.Request) bool {
	return r.Header.Get("X-Amz-Target") == "" &&
		strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
}

// serveSTS answers STS GetCallerIdentity with the server's account
// (AccountID, CallerARN). The access key check of WithAccessKey and an
// error set with SetAuthError apply, as they would to every AWS call made
// with the same credentials; other actions get InvalidAction.
func (s *Server) serveSTS(w http.ResponseWriter, r *http.Request) {
	arrival := s.now()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	form, perr := url.ParseQuery(string(body))
	action := "STS." + form.Get("Action")

	s.mu.Lock()
	rec := s.st.arrive(arrival, action, "", body, s.recording)
	authCode, authMsg := s.authCode, s.authMsg
	s.mu.Unlock()

	fail := func(status int, code, msg string) {
		s.finish(rec, OutcomeError, status, code, false)
		s.writeSTSError(w, status, code, msg)
	}
	akid, signed := accessKeyID(r.Header.Get("Authorization"))
	switch {
	case err != nil || perr != nil:
		fail(http.StatusBadRequest, "MalformedQueryString", "The request body is not a form.")
	case !signed:
		fail(http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token")
	case s.accessKey != "" && akid != s.accessKey:
		fail(http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
	case authCode == "ExpiredTokenException":
		fail(http.StatusBadRequest, "ExpiredToken", "The security token included in the request is expired")
	case authCode == "UnrecognizedClientException":
		fail(http.StatusForbidden, "InvalidClientTokenId", authMsg)
	case form.Get("Action") != "GetCallerIdentity":
		fail(http.StatusBadRequest, "InvalidAction", "Could not find operation "+form.Get("Action")+" for version "+form.Get("Version"))
	default:
		type result struct {
			Arn     string `xml:"Arn"`
			UserID  string `xml:"UserId"`
			Account string `xml:"Account"`
		}
		out := struct {
			XMLName   xml.Name `xml:"GetCallerIdentityResponse"`
			Xmlns     string   `xml:"xmlns,attr"`
			Result    result   `xml:"GetCallerIdentityResult"`
			RequestID string   `xml:"ResponseMetadata>RequestId"`
		}{Xmlns: stsNamespace, Result: result{CallerARN, akid, AccountID}, RequestID: s.requestID()}
		s.finish(rec, OutcomeOK, http.StatusOK, "", false)
		s.writeXML(w, http.StatusOK, out)
	}
}

func (s *Server) writeSTSError(w http.ResponseWriter, status int, code, msg string) {
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	type stsErr struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	s.writeXML(w, status, struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		Error     stsErr   `xml:"Error"`
		RequestID string   `xml:"RequestId"`
	}{Xmlns: stsNamespace, Error: stsErr{typ, code, msg}, RequestID: s.requestID()})
}

func (s *Server) writeXML(w http.ResponseWriter, status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		panic("cognitotest: " + err.Error())
	}
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("X-Amzn-Requestid", s.requestID())
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
