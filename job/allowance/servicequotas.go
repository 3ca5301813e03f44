package allowance

import (
	"context"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
)

// ServiceCode is Cognito user pools' code in Service Quotas.
const ServiceCode = "cognito-idp"

// maxQuotaPages bounds the pages of ListServiceQuotas read.
const maxQuotaPages = 20

// ServiceQuotasAPI is the part of the Service Quotas client ServiceQuotas
// calls. *servicequotas.Client satisfies it.
type ServiceQuotasAPI interface {
	ListServiceQuotas(ctx context.Context, in *servicequotas.ListServiceQuotasInput, optFns ...func(*servicequotas.Options)) (*servicequotas.ListServiceQuotasOutput, error)
}

var _ ServiceQuotasAPI = (*servicequotas.Client)(nil)

// ServiceQuotas reads Cognito's applied quotas with ListServiceQuotas
// (ServiceCode cognito-idp). Quota codes are not documented, so a category's
// quota is the one whose QuotaName holds the category's name as a word
// ("Rate of UserResourceUpdate requests"). It is safe for concurrent use.
type ServiceQuotas struct {
	api ServiceQuotasAPI
}

// NewServiceQuotas returns a Quotas over api.
func NewServiceQuotas(api ServiceQuotasAPI) *ServiceQuotas { return &ServiceQuotas{api: api} }

// Quotas implements Quotas.
func (s *ServiceQuotas) Quotas(ctx context.Context, categories []string) (map[string]float64, error) {
	res := map[string]float64{}
	in := &servicequotas.ListServiceQuotasInput{ServiceCode: aws.String(ServiceCode)}
	pats := make([]*regexp.Regexp, len(categories))
	for i, c := range categories {
		pats[i] = regexp.MustCompile(`(?i)\b` + regexp.QuoteMeta(c) + `\b`)
	}
	for range maxQuotaPages {
		out, err := s.api.ListServiceQuotas(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("servicequotas ListServiceQuotas %s: %w", ServiceCode, err)
		}
		for _, q := range out.Quotas {
			if q.Value == nil {
				continue
			}
			for i, p := range pats {
				if _, seen := res[categories[i]]; !seen && p.MatchString(aws.ToString(q.QuotaName)) {
					res[categories[i]] = *q.Value
				}
			}
		}
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	return res, nil
}
