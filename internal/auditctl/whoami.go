package auditctl

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/otelcol-audit/otelcol-audit/internal/esbootstrap"
)

// WhoAmI asks Elasticsearch whom the credentials authenticate
// (_security/_authenticate): the user, or the owner of the API key. It
// returns "" when Elasticsearch cannot tell (security disabled, anonymous
// access), an error when it is out of reach or refuses the credentials:
// the read would fail the same way.
func WhoAmI(ctx context.Context, c *elasticsearch.Client) (string, error) {
	res, err := esapi.SecurityAuthenticateRequest{}.Do(ctx, c)
	if err != nil {
		return "", reachError(c, err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusUnauthorized {
		typ, reason := esbootstrap.ErrorOf(res.Body)
		return "", fmt.Errorf("Elasticsearch answered 401 %s: %s; check the user and password (--es-user, ELASTICSEARCH_PASSWORD) or the API key", typ, reason)
	}
	if res.IsError() {
		return "", nil
	}
	var who struct {
		Username string `json:"username"`
	}
	if json.NewDecoder(res.Body).Decode(&who) != nil || who.Username == "_anonymous" {
		return "", nil
	}
	return who.Username, nil
}
