package estest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
)

// security models Elasticsearch's native realm, API keys and role-based
// authorization for the actions the double serves. Sources:
// x-pack/plugin/core/.../authz/privilege/IndexPrivilege.java and
// ClusterPrivilegeResolver.java (what each privilege grants),
// AuthorizationDenialMessages.java (the 403 texts), and
// docs/reference/elasticsearch/security-privileges.md.
type security struct {
	users   map[string]*user
	apiKeys map[string]*user // by "id:key"
	roles   map[string]*role
	keySeq  int
}

type user struct {
	name, password string
	roles          []string
	apiKeyID       string // set for API keys
}

type principal = user

type role struct {
	raw     json.RawMessage
	cluster []string
	indices []indexGrant
}

type indexGrant struct {
	Names      []string `json:"names"`
	Privileges []string `json:"privileges"`
}

func newSecurity(elasticPassword string) *security {
	sec := &security{users: map[string]*user{}, apiKeys: map[string]*user{}, roles: map[string]*role{}}
	sec.users["elastic"] = &user{name: "elastic", password: elasticPassword, roles: []string{"superuser"}}
	sec.roles["superuser"] = &role{cluster: []string{"all"}, indices: []indexGrant{{Names: []string{"*"}, Privileges: []string{"all"}}}}
	return sec
}

// clusterPrivileges: the cluster privileges a role may name, and the
// actions of the double's API each grants.
var clusterPrivileges = map[string][]string{
	"all":                     {"*"},
	"manage":                  {"cluster:monitor/*", "cluster:admin/settings/*", "cluster:admin/ilm/*", "cluster:admin/component_template/*", "indices:admin/index_template/*", "cluster:monitor/component_template/*"},
	"monitor":                 {"cluster:monitor/*", "indices:admin/index_template/get", "cluster:admin/ilm/get"},
	"manage_ilm":              {"cluster:admin/ilm/*"},
	"read_ilm":                {"cluster:admin/ilm/get"},
	"manage_index_templates":  {"indices:admin/index_template/*", "cluster:admin/component_template/*", "cluster:monitor/component_template/*"},
	"manage_security":         {"cluster:admin/xpack/security/*"},
	"read_security":           {"cluster:admin/xpack/security/role/get"},
	"manage_api_key":          {"cluster:admin/xpack/security/api_key/*"},
	"manage_own_api_key":      {"cluster:admin/xpack/security/api_key/*"},
	"manage_pipeline":         {"cluster:admin/ingest/pipeline/*"},
	"manage_ingest_pipelines": {"cluster:admin/ingest/pipeline/*"},
	"read_pipeline":           {"cluster:admin/ingest/pipeline/get"},
	"monitor_snapshot":        {"cluster:admin/snapshot/get"},
	"none":                    {},
}

// indexPrivileges: the index privileges, and the actions they grant.
var indexPrivileges = map[string][]string{
	"all":                          {"*"},
	"auto_configure":               {"indices:admin/auto_create", "indices:admin/mapping/auto_put"},
	"create":                       {"indices:data/write/index*", "indices:data/write/bulk*"},
	"create_doc":                   {"indices:data/write/index:op_type/create", "indices:data/write/bulk*"},
	"create_index":                 {"indices:admin/create", "indices:admin/auto_create", "indices:admin/data_stream/create"},
	"delete":                       {"indices:data/write/delete*", "indices:data/write/bulk*"},
	"delete_index":                 {"indices:admin/delete", "indices:admin/data_stream/delete"},
	"index":                        {"indices:data/write/index*", "indices:data/write/bulk*", "indices:data/write/update*"},
	"maintenance":                  {"indices:admin/refresh*", "indices:admin/flush*", "indices:admin/forcemerge*"},
	"manage":                       {"indices:admin/*", "indices:monitor/*"},
	"manage_data_stream_lifecycle": {"indices:admin/data_stream/lifecycle/*"},
	"manage_ilm":                   {"indices:admin/ilm/*"},
	"monitor":                      {"indices:monitor/*"},
	"read":                         {"indices:data/read/*"},
	"read_cross_cluster":           {"indices:data/read/cross_cluster*"},
	"view_index_metadata":          {"indices:admin/get", "indices:admin/mappings/get", "indices:admin/settings/get", "indices:admin/resolve/index", "indices:admin/ilm/explain", "indices:admin/data_stream/get"},
	"write":                        {"indices:data/write/*", "indices:admin/mapping/auto_put"},
	"maintenance_failure_store":    {},
	"manage_failure_store":         {},
	"read_failure_store":           {},
	"manage_follow_index":          {},
	"manage_leader_index":          {},
	"cross_cluster_replication":    {},
	"none":                         {},
}

// grantedBy lists the privileges that grant an action, as the 403 text
// names them (most specific first, as Elasticsearch orders them).
func grantedBy(table map[string][]string, action string, order []string) []string {
	var out []string
	for _, p := range order {
		for _, pat := range table[p] {
			if globMatch(pat, action) {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

var indexPrivilegeOrder = []string{"auto_configure", "create_doc", "create", "create_index", "delete", "delete_index", "index", "maintenance", "manage_ilm", "monitor", "read", "view_index_metadata", "write", "manage", "all"}
var clusterPrivilegeOrder = []string{"read_ilm", "manage_ilm", "manage_index_templates", "monitor", "read_security", "manage_security", "manage", "all"}

func (sec *security) authenticate(r *http.Request) (*principal, error) {
	h := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(h, " ")
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	switch {
	case h == "":
		return nil, errors.New("missing authentication credentials")
	case strings.EqualFold(scheme, "Basic") && err == nil:
		name, pass, _ := strings.Cut(string(raw), ":")
		if u := sec.users[name]; u != nil && u.password == pass {
			return u, nil
		}
		return nil, fmt.Errorf("unable to authenticate user [%s]", name)
	case strings.EqualFold(scheme, "ApiKey") && err == nil:
		if u := sec.apiKeys[string(raw)]; u != nil {
			return u, nil
		}
	}
	return nil, errors.New("unable to authenticate with provided credentials and anonymous access is not allowed for this request")
}

// AddUser creates a native-realm user with roles (superuser, or roles put
// through the API).
func (s *Server) AddUser(name, password string, roles ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sec.users[name] = &user{name: name, password: password, roles: roles}
}

// AddAPIKey creates an API key owned by owner with the given roles and
// returns its encoded form, for Authorization: ApiKey.
func (s *Server) AddAPIKey(owner string, roles ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sec.keySeq++
	id := fmt.Sprintf("key%d", s.sec.keySeq)
	secret := fmt.Sprintf("secret%d", s.sec.keySeq)
	s.sec.apiKeys[id+":"+secret] = &user{name: owner, roles: roles, apiKeyID: id}
	return base64.StdEncoding.EncodeToString([]byte(id + ":" + secret))
}

func (u *principal) describe() string {
	if u.apiKeyID != "" {
		return fmt.Sprintf("API key id [%s] of user [%s]", u.apiKeyID, u.name)
	}
	return fmt.Sprintf("user [%s] with effective roles [%s]", u.name, strings.Join(u.roles, ","))
}

// may reports whether u's roles grant action on every target name (the
// cluster when names is nil).
func (sec *security) may(u *principal, action string, name string, cluster bool) bool {
	for _, rn := range u.roles {
		r := sec.roles[rn]
		if r == nil {
			continue
		}
		if cluster {
			for _, p := range r.cluster {
				for _, pat := range clusterPrivileges[p] {
					if globMatch(pat, action) {
						return true
					}
				}
			}
			continue
		}
		for _, g := range r.indices {
			if !slices.ContainsFunc(g.Names, func(n string) bool { return globMatch(n, name) }) {
				continue
			}
			for _, p := range g.Privileges {
				for _, pat := range indexPrivileges[p] {
					if globMatch(pat, action) {
						return true
					}
				}
			}
		}
	}
	return false
}

// clusterDenied is the 403 for a cluster action.
func clusterDenied(u *principal, action string) esError {
	return esError{Type: "security_exception", Reason: fmt.Sprintf("action [%s] is unauthorized for %s, this action is granted by the cluster privileges [%s]",
		action, u.describe(), strings.Join(grantedBy(clusterPrivileges, action, clusterPrivilegeOrder), ","))}
}

// indexDenied is the 403 for an index action on names.
func indexDenied(u *principal, action string, names ...string) esError {
	return esError{Type: "security_exception", Reason: fmt.Sprintf("action [%s] is unauthorized for %s on indices [%s], this action is granted by the index privileges [%s]",
		action, u.describe(), strings.Join(names, ","), strings.Join(grantedBy(indexPrivileges, action, indexPrivilegeOrder), ","))}
}

// allowCluster answers 403 and returns false unless the caller may run a
// cluster action.
func (s *Server) allowCluster(c *call, action string) bool {
	if s.sec == nil || c.user == nil {
		return true
	}
	s.mu.Lock()
	ok := s.sec.may(c.user, action, "", true)
	s.mu.Unlock()
	if !ok {
		writeErr(c.w, 403, clusterDenied(c.user, action))
	}
	return ok
}

// allowIndex answers 403 and returns false unless the caller may run an
// index action on name; s.mu is held.
func (s *Server) allowIndex(c *call, action, name string) bool {
	if s.sec == nil || c.user == nil || s.sec.may(c.user, action, name, false) {
		return true
	}
	writeErr(c.w, 403, indexDenied(c.user, action, name))
	return false
}

// resolveFor resolves an index expression for an action, as
// IndicesAndAliasesResolver does under security: a plain name that exists
// nowhere answers 404, one the caller may not use 403, and a wildcard
// expands only to what the caller may use. It answers the error itself
// and returns false then; s.mu is held.
func (s *Server) resolveFor(c *call, action, expr string) ([]*index, bool) {
	found, missing := s.resolve(expr)
	if len(missing) > 0 {
		writeErr(c.w, 404, indexNotFound(missing[0]))
		return nil, false
	}
	if s.sec == nil || c.user == nil {
		return found, true
	}
	for _, part := range strings.Split(expr, ",") {
		if part == "" || strings.Contains(part, "*") || strings.HasPrefix(part, "-") || part == "_all" {
			continue
		}
		if !s.sec.may(c.user, action, part, false) {
			writeErr(c.w, 403, indexDenied(c.user, action, part))
			return nil, false
		}
	}
	var out []*index
	for _, ix := range found {
		name := ix.name
		if ix.stream != "" {
			name = ix.stream
		}
		if s.sec.may(c.user, action, name, false) {
			out = append(out, ix)
		}
	}
	return out, true
}

// putRole: PUT _security/role/<name>. Source:
// specification/security/put_role/SecurityPutRoleRequest.ts and
// RoleDescriptor.parse ("failed to parse role [x]. unexpected field [y]").
func (s *Server) putRole(c *call) {
	if !s.securityOn(c) || !s.allowCluster(c, "cluster:admin/xpack/security/role/put") {
		return
	}
	name := c.params["name"]
	var m map[string]json.RawMessage
	if err := json.Unmarshal(c.body, &m); err != nil {
		writeError(c.w, 400, "parse_exception", fmt.Sprintf("failed to parse role [%s]: %v", name, err))
		return
	}
	for k := range m {
		if !slices.Contains([]string{"cluster", "indices", "applications", "run_as", "metadata", "transient_metadata", "global", "remote_indices", "remote_cluster", "description"}, k) {
			writeError(c.w, 400, "parse_exception", fmt.Sprintf("failed to parse role [%s]. unexpected field [%s]", name, k))
			return
		}
	}
	var body struct {
		Cluster []string     `json:"cluster"`
		Indices []indexGrant `json:"indices"`
	}
	if err := json.Unmarshal(c.body, &body); err != nil {
		writeError(c.w, 400, "parse_exception", fmt.Sprintf("failed to parse role [%s]: %v", name, err))
		return
	}
	for _, p := range body.Cluster {
		if _, ok := clusterPrivileges[p]; !ok {
			writeError(c.w, 400, "illegal_argument_exception", fmt.Sprintf("unknown cluster privilege [%s]. a privilege must be either one of the predefined cluster privilege names [%s] or a pattern over one of the available cluster actions", p, strings.Join(keys(clusterPrivileges), ",")))
			return
		}
	}
	for _, g := range body.Indices {
		if len(g.Names) == 0 || len(g.Privileges) == 0 {
			writeError(c.w, 400, "parse_exception", fmt.Sprintf("failed to parse indices privileges for role [%s]. missing required [names] or [privileges] fields", name))
			return
		}
		for _, p := range g.Privileges {
			if _, ok := indexPrivileges[p]; !ok {
				writeError(c.w, 400, "illegal_argument_exception", fmt.Sprintf("unknown index privilege [%s]. a privilege must be either one of the predefined fixed indices privileges [%s] or a pattern over one of the available index actions", p, strings.Join(keys(indexPrivileges), ",")))
				return
			}
		}
	}
	s.mu.Lock()
	_, existed := s.sec.roles[name]
	s.sec.roles[name] = &role{raw: append(json.RawMessage(nil), c.body...), cluster: body.Cluster, indices: body.Indices}
	s.mu.Unlock()
	writeJSON(c.w, 200, map[string]any{"role": map[string]any{"created": !existed}})
}

// securityOn answers as a cluster with security disabled does to the
// security APIs. Source: x-pack security's
// SecurityRestFilter / XPackLicenseState ("Security must be explicitly
// enabled when using a [basic] license").
func (s *Server) securityOn(c *call) bool {
	if s.sec != nil {
		return true
	}
	writeError(c.w, 500, "security_exception", "Security must be explicitly enabled when using a [basic] license. Enable security by setting [xpack.security.enabled] to [true] in the elasticsearch.yml file and restart the node.")
	return false
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (s *Server) getRole(c *call) {
	if !s.securityOn(c) || !s.allowCluster(c, "cluster:admin/xpack/security/role/get") {
		return
	}
	s.mu.Lock()
	r := s.sec.roles[c.params["name"]]
	s.mu.Unlock()
	if r == nil {
		writeJSON(c.w, 404, map[string]any{})
		return
	}
	writeJSON(c.w, 200, map[string]any{c.params["name"]: r.raw})
}

func (s *Server) deleteRole(c *call) {
	deleteNamed(s, c, "role", func() map[string]*role { return s.sec.roles })
}
func (s *Server) deleteUser(c *call) {
	deleteNamed(s, c, "user", func() map[string]*user { return s.sec.users })
}

// deleteNamed: DELETE _security/<kind>/<name>, {"found": bool}.
func deleteNamed[T any](s *Server, c *call, kind string, of func() map[string]T) {
	if !s.securityOn(c) || !s.allowCluster(c, "cluster:admin/xpack/security/"+kind+"/delete") {
		return
	}
	s.mu.Lock()
	m := of()
	_, ok := m[c.params["name"]]
	delete(m, c.params["name"])
	s.mu.Unlock()
	writeJSON(c.w, map[bool]int{true: 200, false: 404}[ok], map[string]any{"found": ok})
}

// putUser: PUT _security/user/<name> {"password", "roles"}.
func (s *Server) putUser(c *call) {
	if !s.securityOn(c) || !s.allowCluster(c, "cluster:admin/xpack/security/user/put") {
		return
	}
	var body struct {
		Password string   `json:"password"`
		Roles    []string `json:"roles"`
	}
	if err := json.Unmarshal(c.body, &body); err != nil {
		writeError(c.w, 400, "parse_exception", err.Error())
		return
	}
	if len(body.Password) < 6 {
		writeError(c.w, 400, "action_request_validation_exception", "Validation Failed: 1: passwords must be at least [6] characters long;")
		return
	}
	s.mu.Lock()
	_, existed := s.sec.users[c.params["name"]]
	s.sec.users[c.params["name"]] = &user{name: c.params["name"], password: body.Password, roles: body.Roles}
	s.mu.Unlock()
	writeJSON(c.w, 200, map[string]any{"created": !existed})
}

func (s *Server) authenticate(c *call) {
	if c.user == nil {
		writeJSON(c.w, 200, map[string]any{"username": "_anonymous", "roles": []string{}, "authentication_type": "anonymous"})
		return
	}
	writeJSON(c.w, 200, map[string]any{"username": c.user.name, "roles": c.user.roles, "authentication_type": map[bool]string{true: "api_key", false: "realm"}[c.user.apiKeyID != ""]})
}
