package cognitotest

import (
	"encoding/json"
	"fmt"
	"io"

	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// The CloudWatch and Service Quotas APIs the server answers, for pacing that
// sees production: the real SDK clients, aimed at the server's URL, speak
// CloudWatch's Smithy RPC v2 CBOR protocol (POST
// /service/GraniteServiceVersion20100801/operation/<Op>) and Service Quotas'
// JSON 1.1 (X-Amz-Target ServiceQuotasV20190624.<Op>).
const (
	cloudWatchPathPrefix = "/service/GraniteServiceVersion20100801/operation/"
	serviceQuotasPrefix  = "ServiceQuotasV20190624."

	// UsageService is the Service dimension of the server's AWS/Usage
	// metrics. Real Cognito's value is not documented: clients discover it
	// with ListMetrics.
	UsageService = "Cognito User Pools"
)

// serveMonitoring answers a CloudWatch or Service Quotas request and returns
// true, or returns false for any other request.
func (s *Server) serveMonitoring(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case strings.HasPrefix(r.URL.Path, cloudWatchPathPrefix):
		s.serveCloudWatch(w, r, strings.TrimPrefix(r.URL.Path, cloudWatchPathPrefix))
		return true
	case strings.HasPrefix(r.Header.Get("X-Amz-Target"), serviceQuotasPrefix):
		s.serveServiceQuotas(w, r, strings.TrimPrefix(r.Header.Get("X-Amz-Target"), serviceQuotasPrefix))
		return true
	}
	return false
}

// allowedLocked checks a monitoring request's credentials and whether Deny
// named its operation ("GetMetricData") or its IAM action
// ("cloudwatch:GetMetricData").
func (s *Server) allowedLocked(r *http.Request, action string) *apiError {
	if _, ok := accessKeyID(r.Header.Get("Authorization")); !ok {
		return &apiError{http.StatusBadRequest, "MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	_, op, _ := strings.Cut(action, ":")
	if s.ext.denied[action] || s.ext.denied[op] {
		return &apiError{http.StatusBadRequest, "AccessDeniedException",
			fmt.Sprintf("User: arn:aws:iam::123456789012:user/test is not authorized to perform: %s (denied by cognitotest)", action)}
	}
	return nil
}

// ---- CloudWatch (RPC v2 CBOR) ----

func (s *Server) serveCloudWatch(w http.ResponseWriter, r *http.Request, op string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		s.reset(w)
		return
	}
	var in cbor.Map
	if len(body) > 0 {
		v, err := cbor.Decode(body)
		m, ok := v.(cbor.Map)
		if err != nil || !ok {
			s.writeCBORError(w, &apiError{http.StatusBadRequest, "SerializationException", "request body is not a CBOR map"})
			return
		}
		in = m
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.allowedLocked(r, "cloudwatch:"+op); e != nil {
		s.writeCBORError(w, e)
		return
	}
	var out cbor.Map
	var e *apiError
	switch op {
	case "ListMetrics":
		out, e = s.listMetricsLocked(in)
	case "GetMetricData":
		out, e = s.getMetricDataLocked(in)
	default:
		e = &apiError{http.StatusBadRequest, "UnknownOperationException", fmt.Sprintf("CloudWatch operation %q is not implemented by cognitotest.", op)}
	}
	if e != nil {
		s.writeCBORError(w, e)
		return
	}
	s.writeCBOR(w, http.StatusOK, out)
}

func (s *Server) writeCBOR(w http.ResponseWriter, status int, m cbor.Map) {
	b := cbor.Encode(m)
	h := w.Header()
	h.Set("Smithy-Protocol", "rpc-v2-cbor")
	h.Set("Content-Type", "application/cbor")
	h.Set("X-Amzn-Requestid", s.requestID())
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *Server) writeCBORError(w http.ResponseWriter, e *apiError) {
	s.writeCBOR(w, e.status, cbor.Map{"__type": cbor.String(e.code), "message": cbor.String(e.msg)})
}

// usageDimensions returns the dimension set of category c's usage metrics.
func usageDimensions(c Category) map[string]string {
	return map[string]string{"Service": UsageService, "Type": "API", "Resource": string(c), "Class": "None"}
}

func dimensionList(d map[string]string) cbor.List {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var l cbor.List
	for _, k := range keys {
		l = append(l, cbor.Map{"Name": cbor.String(k), "Value": cbor.String(d[k])})
	}
	return l
}

// listMetricsLocked answers ListMetrics: the AWS/Usage CallCount and
// ThrottleCount metrics of the categories that have counts, filtered by
// namespace, metric name and dimensions.
func (s *Server) listMetricsLocked(in cbor.Map) (cbor.Map, *apiError) {
	ns, name := str(in["Namespace"]), str(in["MetricName"])
	var filters []struct{ name, value string }
	if l, ok := in["Dimensions"].(cbor.List); ok {
		for _, f := range l {
			m, _ := f.(cbor.Map)
			filters = append(filters, struct{ name, value string }{str(m["Name"]), str(m["Value"])})
		}
	}
	cats := make([]string, 0, len(s.usage.periods))
	for c := range s.usage.periods {
		cats = append(cats, string(c))
	}
	sort.Strings(cats)
	var metrics cbor.List
	for _, c := range cats {
		dims := usageDimensions(Category(c))
		match := ns == "" || ns == "AWS/Usage"
		for _, f := range filters {
			v, ok := dims[f.name]
			match = match && ok && (f.value == "" || f.value == v)
		}
		if !match {
			continue
		}
		var calls, throttles int
		for _, p := range s.usage.periods[Category(c)] {
			calls += p.Calls + p.ProductionCalls
			throttles += p.Throttles + p.ProductionThrottles
		}
		for _, m := range []struct {
			name string
			n    int
		}{{"CallCount", calls}, {"ThrottleCount", throttles}} {
			if m.n > 0 && (name == "" || name == m.name) {
				metrics = append(metrics, cbor.Map{"Namespace": cbor.String("AWS/Usage"), "MetricName": cbor.String(m.name), "Dimensions": dimensionList(dims)})
			}
		}
	}
	return cbor.Map{"Metrics": metrics}, nil
}

// getMetricDataLocked answers GetMetricData for MetricStat queries of the
// AWS/Usage metrics, statistic Sum: the published periods whose start is
// in [StartTime, EndTime), summed into buckets of the query's period
// aligned on the epoch. A period shorter than the native one gives a bucket
// every native period, as CloudWatch does; periods without calls have no
// datapoint.
func (s *Server) getMetricDataLocked(in cbor.Map) (cbor.Map, *apiError) {
	start, err1 := cbor.AsTime(in["StartTime"])
	end, err2 := cbor.AsTime(in["EndTime"])
	queries, _ := in["MetricDataQueries"].(cbor.List)
	if err1 != nil || err2 != nil || len(queries) == 0 {
		return nil, &apiError{http.StatusBadRequest, "InvalidParameterValueException", "StartTime, EndTime and MetricDataQueries are required"}
	}
	now := s.now()
	var results cbor.List
	for _, qv := range queries {
		q, _ := qv.(cbor.Map)
		id := str(q["Id"])
		ms, _ := q["MetricStat"].(cbor.Map)
		metric, _ := ms["Metric"].(cbor.Map)
		period, err := cbor.AsInt64(ms["Period"])
		if ms == nil || metric == nil || err != nil || period <= 0 {
			return nil, &apiError{http.StatusBadRequest, "InvalidParameterValueException", "query " + id + ": only MetricStat queries with a Period are implemented by cognitotest"}
		}
		if st := str(ms["Stat"]); st != "Sum" {
			return nil, &apiError{http.StatusBadRequest, "InvalidParameterValueException", "query " + id + ": only the Sum statistic is implemented by cognitotest, not " + st}
		}
		dims := map[string]string{}
		if l, ok := metric["Dimensions"].(cbor.List); ok {
			for _, d := range l {
				m, _ := d.(cbor.Map)
				dims[str(m["Name"])] = str(m["Value"])
			}
		}
		c := Category(dims["Resource"])
		want := usageDimensions(c)
		exact := str(metric["Namespace"]) == "AWS/Usage" && len(dims) == len(want)
		for k, v := range want {
			exact = exact && dims[k] == v
		}
		sums := map[int64]float64{}
		if exact {
			p := time.Duration(period) * time.Second
			for _, up := range s.publishedLocked(c, now) {
				if up.Start.Before(start) || !up.Start.Before(end) {
					continue
				}
				v := up.Calls + up.ProductionCalls
				if str(metric["MetricName"]) == "ThrottleCount" {
					v = up.Throttles + up.ProductionThrottles
				} else if str(metric["MetricName"]) != "CallCount" {
					v = 0
				}
				if v > 0 {
					sums[floorDiv(up.Start.UnixNano(), int64(p))*int64(p)] += float64(v)
				}
			}
		}
		keys := make([]int64, 0, len(sums))
		for k := range sums {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		ts, vs := cbor.List{}, cbor.List{}
		for _, k := range keys {
			ts = append(ts, &cbor.Tag{ID: 1, Value: cbor.Float64(float64(k) / 1e9)})
			vs = append(vs, cbor.Float64(sums[k]))
		}
		results = append(results, cbor.Map{"Id": cbor.String(id), "Label": cbor.String(str(metric["MetricName"])),
			"StatusCode": cbor.String("Complete"), "Timestamps": ts, "Values": vs})
	}
	return cbor.Map{"MetricDataResults": results, "Messages": cbor.List{}}, nil
}

func str(v cbor.Value) string {
	if s, ok := v.(cbor.String); ok {
		return string(s)
	}
	return ""
}

// ---- Service Quotas (JSON 1.1) ----

// documentedQuotas are Cognito's default request-rate quotas (reference §4),
// as Service Quotas lists them: quota name, code and value.
var documentedQuotas = []struct {
	c    Category
	code string
	rps  float64
}{
	{"UserAuthentication", "L-COGAUTH1", 120},
	{UserCreation, "L-COGCREA1", 50},
	{"UserFederation", "L-COGFEDE1", 25},
	{UserList, "L-COGLIST1", 30},
	{UserRead, "L-COGREAD1", 120},
	{UserResourceUpdate, "L-COGRUPD1", 25},
	{"UserToken", "L-COGTOKE1", 120},
}

// quotasPerPage is the page size of ListServiceQuotas, small so that
// clients must follow NextToken.
const quotasPerPage = 3

func (s *Server) serveServiceQuotas(w http.ResponseWriter, r *http.Request, op string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		s.reset(w)
		return
	}
	var in struct{ ServiceCode, QuotaCode, NextToken string }
	if err := json.Unmarshal(body, &in); err != nil {
		s.writeError(w, &apiError{http.StatusBadRequest, "SerializationException", "request body is not JSON"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.allowedLocked(r, "servicequotas:"+op); e != nil {
		s.writeError(w, e)
		return
	}
	if in.ServiceCode != "cognito-idp" {
		s.writeError(w, &apiError{http.StatusBadRequest, "NoSuchResourceException", "service " + in.ServiceCode + " is not known to cognitotest"})
		return
	}
	quota := func(i int) map[string]any {
		q := documentedQuotas[i]
		v := q.rps
		if lim := s.quotas[q.c]; lim != nil {
			v = float64(lim.Limit())
		}
		return map[string]any{
			"ServiceCode": "cognito-idp", "ServiceName": "Amazon Cognito User Pools", "QuotaCode": q.code,
			"QuotaArn":  "arn:aws:servicequotas:us-east-1:123456789012:cognito-idp/" + q.code,
			"QuotaName": "Rate of " + string(q.c) + " requests", "Value": v, "Unit": "None",
			"Adjustable": q.c != UserResourceUpdate, "GlobalQuota": false,
		}
	}
	switch op {
	case "ListServiceQuotas":
		from, _ := strconv.Atoi(in.NextToken)
		from = max(0, min(from, len(documentedQuotas)))
		to := min(from+quotasPerPage, len(documentedQuotas))
		var page []map[string]any
		for i := from; i < to; i++ {
			page = append(page, quota(i))
		}
		out := map[string]any{"Quotas": page}
		if to < len(documentedQuotas) {
			out["NextToken"] = strconv.Itoa(to)
		}
		s.writeJSON(w, http.StatusOK, mustMarshal(out))
	case "GetServiceQuota":
		for i, q := range documentedQuotas {
			if q.code == in.QuotaCode {
				s.writeJSON(w, http.StatusOK, mustMarshal(map[string]any{"Quota": quota(i)}))
				return
			}
		}
		s.writeError(w, &apiError{http.StatusBadRequest, "NoSuchResourceException", "quota " + in.QuotaCode + " does not exist"})
	default:
		s.writeError(w, &apiError{http.StatusBadRequest, "UnknownOperationException", fmt.Sprintf("Service Quotas operation %q is not implemented by cognitotest.", op)})
	}
}
