package conformance

import (
	"fmt"
	"strings"
)

// bulk builds an NDJSON body of create actions.
func bulk(index string, docs ...string) string {
	var b strings.Builder
	for i, d := range docs {
		id, src, _ := strings.Cut(d, "=")
		if src == "" {
			src, id = id, fmt.Sprint(i+1)
		}
		fmt.Fprintf(&b, `{"create":{"_index":%q,"_id":%q}}`+"\n%s\n", index, id, src)
	}
	return b.String()
}

const doc = `{"@timestamp":"2025-11-20T10:00:00Z","a":1}`

var (
	id512 = strings.Repeat("x", 512)
	id513 = strings.Repeat("x", 513)
)

// table is every expectation, with its source.
var table = []spec{
	{
		name:   "bulk create stores once and answers 409 after",
		source: "specification/_global/bulk/BulkResponse.ts; VersionConflictEngineException.java",
		steps: []step{
			{method: "PUT", path: "/{{p}}-docs", status: 200, want: `{"acknowledged":true,"index":"{{p}}-docs"}`},
			{method: "POST", path: "/_bulk", body: bulk("{{p}}-docs", "1="+doc), status: 200,
				want: `{"errors":false,"items":[{"create":{"_index":"{{p}}-docs","_id":"1","status":201,"result":"created"}}]}`},
			{method: "POST", path: "/_bulk", body: bulk("{{p}}-docs", "1="+doc), status: 200,
				want: `{"errors":true,"items":[{"create":{"_id":"1","status":409,"error":{"type":"version_conflict_engine_exception","reason":"~^\\[1\\]: version conflict, document already exists"}}}]}`},
		},
		cleanup: []string{"DELETE /{{p}}-docs"},
	},
	{
		name:   "filter_path keeps what is asked and drops items it empties",
		source: "docs/reference/elasticsearch/rest-apis/common-options.md (filter_path); the bulk API docs' filter_path example",
		steps: []step{
			{method: "PUT", path: "/{{p}}-fp", status: 200},
			{method: "POST", path: "/_bulk", body: bulk("{{p}}-fp", "1="+doc), status: 200},
			{method: "POST", path: "/_bulk?filter_path=items.*.error", body: bulk("{{p}}-fp", "2="+doc, "1="+doc), status: 200,
				want: `{"errors":"<absent>","items":[{"create":{"status":"<absent>","error":{"type":"version_conflict_engine_exception"}}}]}`},
			{method: "POST", path: "/_bulk?filter_path=errors,items.*.status", body: bulk("{{p}}-fp", "3="+doc, "1="+doc), status: 200,
				want: `{"took":"<absent>","errors":true,"items":[{"create":{"status":201,"_id":"<absent>"}},{"create":{"status":409,"error":"<absent>"}}]}`},
		},
		cleanup: []string{"DELETE /{{p}}-fp"},
	},
	{
		name:   "an _id over 512 bytes refuses the whole bulk",
		source: "DocWriteRequest.validateDocIdLength; BulkRequest.validate",
		steps: []step{
			{method: "PUT", path: "/{{p}}-ids", status: 200},
			{method: "POST", path: "/_bulk", body: bulk("{{p}}-ids", "ok="+doc, id513+"="+doc), status: 400,
				want: `{"error":{"type":"action_request_validation_exception","reason":"~is too long, must be no longer than 512 bytes but was: 513"},"status":400}`},
			{method: "POST", path: "/_bulk?refresh=true", body: bulk("{{p}}-ids", id512+"="+doc), status: 200, want: `{"errors":false}`},
			{method: "GET", path: "/{{p}}-ids/_count", status: 200, want: `{"count":1}`},
		},
		cleanup: []string{"DELETE /{{p}}-ids"},
	},
	{
		name:   "an empty _id fails its item; a body without its last newline or with an unknown parameter fails the request; index replaces",
		source: "IndexRouting.process; BulkRequestParser; specification/_global/bulk/types.ts (OperationBase)",
		steps: []step{
			{method: "PUT", path: "/{{p}}-empty", status: 200},
			{method: "POST", path: "/_bulk", body: `{"create":{"_index":"{{p}}-empty","_id":""}}` + "\n" + doc + "\n", status: 200,
				want: `{"errors":true,"items":[{"create":{"status":400,"error":{"type":"illegal_argument_exception","reason":"if _id is specified it must not be empty"}}}]}`},
			{method: "POST", path: "/_bulk", body: `{"create":{"_index":"{{p}}-empty","_id":"1"}}` + "\n" + doc, status: 400,
				want: `{"error":{"type":"illegal_argument_exception","reason":"~terminated by a newline"}}`},
			{method: "POST", path: "/_bulk", body: `{"create":{"_index":"{{p}}-empty","_id":"1","frobnicate":true}}` + "\n" + doc + "\n", status: 400,
				want: `{"error":{"type":"illegal_argument_exception","reason":"~contains an unknown parameter \\[frobnicate\\]"}}`},
			{method: "POST", path: "/_bulk?refresh=true", body: `{"index":{"_index":"{{p}}-empty","_id":"2"}}` + "\n" + doc + "\n" + `{"index":{"_index":"{{p}}-empty","_id":"2"}}` + "\n" + doc + "\n", status: 200,
				want: `{"errors":false,"items":[{"index":{"status":201,"result":"created"}},{"index":{"status":200,"result":"updated"}}]}`},
			{method: "GET", path: "/{{p}}-empty/_count", status: 200, want: `{"count":1}`},
		},
		cleanup: []string{"DELETE /{{p}}-empty"},
	},
	{
		name:   "invalid index and data stream names",
		source: "MetadataCreateIndexService.validateIndexOrAliasName; MetadataCreateDataStreamService",
		steps: []step{
			{method: "PUT", path: "/{{p}}-UPPER", status: 400, want: `{"error":{"type":"invalid_index_name_exception","reason":"~must be lowercase"}}`},
			{method: "PUT", path: "/_{{p}}", status: 400, want: `{"error":{"type":"invalid_index_name_exception","reason":"~must not start with '_', '-', or '\\+'"}}`},
			{method: "PUT", path: "/{{p}}%23x", status: 400, want: `{"error":{"type":"invalid_index_name_exception","reason":"~must not contain '#'"}}`},
			{method: "PUT", path: "/{{p}}:x", status: 400, want: `{"error":{"type":"invalid_index_name_exception","reason":"~must not contain ':'"}}`},
		},
	},
	{
		name:   "mappings: unknown types and parameters are refused",
		source: "ObjectMapper.TypeParser; FieldMapper.Builder.parse; WildcardFieldMapper and FlattenedFieldMapper parameters; AbstractScopedSettings.validate",
		steps: []step{
			{method: "PUT", path: "/_component_template/{{p}}-c", body: `{"template":{"mappings":{"properties":{"f":{"type":"strnig"}}}}}`, status: 400,
				want: `{"error":{"type":"mapper_parsing_exception","reason":"~\\[strnig\\] declared on field \\[f\\]"}}`},
			{method: "PUT", path: "/_component_template/{{p}}-c", body: `{"template":{"mappings":{"properties":{"f":{"type":"keyword","ignore_abov":10}}}}}`, status: 400,
				want: `{"error":{"type":"mapper_parsing_exception","reason":"~unknown parameter \\[ignore_abov\\] on mapper \\[f\\] of type \\[keyword\\]"}}`},
			{method: "PUT", path: "/_component_template/{{p}}-c", body: `{"template":{"mappings":{"properties":{"f":{"type":"wildcard","doc_values":false}}}}}`, status: 400,
				want: `{"error":{"type":"mapper_parsing_exception","reason":"~unknown parameter \\[doc_values\\] on mapper \\[f\\] of type \\[wildcard\\]"}}`},
			{method: "PUT", path: "/_component_template/{{p}}-c", body: `{"template":{"settings":{"index":{"frobnicate":1}}}}`, status: 400,
				want: `{"error":{"type":"illegal_argument_exception","reason":"~unknown setting \\[index.frobnicate\\]"}}`},
			{method: "PUT", path: "/_component_template/{{p}}-c", body: `{"template":{"mappings":{"properties":{"f":{"type":"keyword","ignore_above":1024,"fields":{"w":{"type":"wildcard"}}},"p":{"type":"flattened","depth_limit":20,"ignore_above":8191}}}}}`, status: 200,
				want: `{"acknowledged":true}`},
		},
		cleanup: []string{"DELETE /_component_template/{{p}}-c"},
	},
	{
		name:   "index templates: equal priorities may not overlap, components must exist",
		source: "MetadataIndexTemplateService.findConflictingV2Templates and validateIndexTemplateV2; logs@template.json (logs-*-* at 100)",
		steps: []step{
			{method: "PUT", path: "/_index_template/{{p}}-t1", body: `{"index_patterns":["{{p}}-ov-*"],"priority":300}`, status: 200},
			{method: "PUT", path: "/_index_template/{{p}}-t2", body: `{"index_patterns":["{{p}}-ov-a*"],"priority":300}`, status: 400,
				want: `{"error":{"type":"illegal_argument_exception","reason":"~matching patterns from existing templates \\[{{p}}-t1\\].*the same priority \\[300\\]"}}`},
			{method: "PUT", path: "/_index_template/{{p}}-t2", body: `{"index_patterns":["{{p}}-ov-a*"],"priority":301}`, status: 200},
			{method: "PUT", path: "/_index_template/{{p}}-t3", body: `{"index_patterns":["{{p}}-x-*"],"composed_of":["{{p}}-missing"]}`, status: 400,
				want: `{"error":{"type":"invalid_index_template_exception","reason":"~that do not exist"}}`},
			{method: "PUT", path: "/_index_template/{{p}}-t4", body: `{"index_patterns":["logs-{{p}}-*"],"priority":100}`, status: 400,
				want: `{"error":{"type":"illegal_argument_exception","reason":"~existing templates \\[logs\\].*same priority \\[100\\]"}}`},
		},
		cleanup: []string{"DELETE /_index_template/{{p}}-t1", "DELETE /_index_template/{{p}}-t2"},
	},
	{
		name:   "data streams: _id is unique only inside one backing index",
		source: "MetadataCreateDataStreamService; rollover API docs; elastic/elasticsearch#44794; BulkOperation (op_type create only)",
		steps: []step{
			{method: "PUT", path: "/_index_template/{{p}}-ds", body: `{"index_patterns":["{{p}}-ds*"],"data_stream":{},"priority":300}`, status: 200},
			{method: "PUT", path: "/_data_stream/{{p}}-ds", status: 200, want: `{"acknowledged":true}`},
			{method: "PUT", path: "/_data_stream/{{p}}-ds", status: 400, want: `{"error":{"type":"resource_already_exists_exception"}}`},
			{method: "POST", path: "/_bulk", body: bulk("{{p}}-ds", "same="+doc), status: 200,
				want: `{"items":[{"create":{"status":201,"_index":"~^\\.ds-{{p}}-ds-\\d{4}\\.\\d{2}\\.\\d{2}-000001$"}}]}`},
			{method: "POST", path: "/_bulk", body: bulk("{{p}}-ds", "same="+doc), status: 200, want: `{"items":[{"create":{"status":409}}]}`},
			{method: "POST", path: "/{{p}}-ds/_rollover", status: 200, want: `{"rolled_over":true,"old_index":"~-000001$","new_index":"~-000002$"}`},
			{method: "POST", path: "/_bulk", body: bulk("{{p}}-ds", "same="+doc), status: 200,
				want: `{"errors":false,"items":[{"create":{"status":201,"_index":"~-000002$"}}]}`},
			{method: "POST", path: "/{{p}}-ds/_refresh", status: 200},
			{method: "GET", path: "/{{p}}-ds/_count", status: 200, want: `{"count":2}`},
			{method: "POST", path: "/_bulk", body: `{"index":{"_index":"{{p}}-ds","_id":"other"}}` + "\n" + doc + "\n", status: 200,
				want: `{"items":[{"index":{"status":400,"error":{"type":"illegal_argument_exception","reason":"~op_type of create"}}}]}`},
		},
		cleanup: []string{"DELETE /_data_stream/{{p}}-ds", "DELETE /_index_template/{{p}}-ds"},
	},
	{
		name:   "a write to a logs-*-* name without a template of ours makes a data stream (the built-in logs template)",
		source: "x-pack/plugin/core/template-resources logs@template.json (logs-*-*, priority 100, data_stream, allow_auto_create)",
		steps: []step{
			{method: "POST", path: "/_bulk", body: bulk("logs-{{p}}-default", "1="+doc), status: 200,
				want: `{"items":[{"create":{"status":201,"_index":"~^\\.ds-logs-{{p}}-default-"}}]}`},
		},
		cleanup: []string{"DELETE /_data_stream/logs-{{p}}-default"},
	},
	{
		name:   "auto-creation: action.auto_create_index false answers 404 items; a template's allow_auto_create overrides it",
		source: "AutoCreateIndex.shouldAutoCreate; specification/indices/put_index_template (allow_auto_create)",
		steps: []step{
			{method: "PUT", path: "/_cluster/settings", body: `{"persistent":{"action.auto_create_index":"false"}}`, status: 200},
			{method: "POST", path: "/_bulk", body: bulk("{{p}}-free", "1="+doc), status: 200,
				want: `{"errors":true,"items":[{"create":{"status":404,"error":{"type":"index_not_found_exception","reason":"~\\[action.auto_create_index\\] is \\[false\\]"}}}]}`},
			{method: "PUT", path: "/_index_template/{{p}}-auto", body: `{"index_patterns":["{{p}}-free*"],"priority":300,"allow_auto_create":true}`, status: 200},
			{method: "POST", path: "/_bulk", body: bulk("{{p}}-free", "1="+doc), status: 200, want: `{"errors":false}`},
			{method: "PUT", path: "/_index_template/{{p}}-noauto", body: `{"index_patterns":["{{p}}-closed*"],"priority":300,"allow_auto_create":false}`, status: 200},
			{method: "PUT", path: "/_cluster/settings", body: `{"persistent":{"action.auto_create_index":null}}`, status: 200},
			{method: "POST", path: "/_bulk", body: bulk("{{p}}-closed", "1="+doc), status: 200,
				want: `{"items":[{"create":{"status":404,"error":{"type":"index_not_found_exception","reason":"~forbids index auto creation"}}}]}`},
		},
		cleanup: []string{`PUT /_cluster/settings {"persistent":{"action.auto_create_index":null}}`, "DELETE /{{p}}-free",
			"DELETE /_index_template/{{p}}-auto", "DELETE /_index_template/{{p}}-noauto"},
	},
	{
		name:   "index.lifecycle.parse_origination_date refuses an index whose name has no date",
		source: "IndexLifecycleOriginationDateParser; IndexLifecycleService.beforeIndexAddedToCluster",
		steps: []step{
			{method: "PUT", path: "/_ilm/policy/{{p}}-pol", body: `{"policy":{"phases":{"hot":{"actions":{}},"delete":{"min_age":"30d","actions":{"delete":{}}}}}}`, status: 200},
			{method: "PUT", path: "/_index_template/{{p}}-orig", body: `{"index_patterns":["{{p}}-orig-*"],"priority":300,"allow_auto_create":true,"template":{"settings":{"index":{"lifecycle":{"name":"{{p}}-pol","parse_origination_date":true}}}}}`, status: 200},
			{method: "PUT", path: "/{{p}}-orig-nodate", status: 400, want: `{"error":{"type":"illegal_argument_exception","reason":"~does not match pattern"}}`},
			{method: "POST", path: "/_bulk", body: bulk("{{p}}-orig-2025.11.01", "1="+doc), status: 200, want: `{"errors":false}`},
		},
		cleanup: []string{"DELETE /{{p}}-orig-2025.11.01", "DELETE /_index_template/{{p}}-orig", "DELETE /_ilm/policy/{{p}}-pol"},
	},
	{
		name:   "ILM policies: unknown actions, bad time units, actions in the wrong phase",
		source: "TimeseriesLifecycleType (actions per phase, rollover-only actions); Phase.java; TimeValue.parseTimeValue",
		steps: []step{
			{method: "PUT", path: "/_ilm/policy/{{p}}-x", body: `{"policy":{"phases":{"hot":{"actions":{"frobnicate":{}}}}}}`, status: 400, want: `{"error":{"type":"x_content_parse_exception"}}`},
			{method: "PUT", path: "/_ilm/policy/{{p}}-x", body: `{"policy":{"phases":{"delete":{"min_age":"1w","actions":{"delete":{}}}}}}`, status: 400, want: `{"error":{"type":"x_content_parse_exception"}}`},
			{method: "PUT", path: "/_ilm/policy/{{p}}-x", body: `{"policy":{"phases":{"delete":{"actions":{"rollover":{"max_age":"1d"}}}}}}`, status: 400,
				want: `{"error":{"type":"illegal_argument_exception","reason":"invalid action [rollover] defined in phase [delete]"}}`},
			{method: "PUT", path: "/_ilm/policy/{{p}}-x", body: `{"policy":{"phases":{"hot":{"actions":{"readonly":{}}}}}}`, status: 400,
				want: `{"error":{"type":"illegal_argument_exception","reason":"~without an accompanying \\[rollover\\] action"}}`},
			{method: "PUT", path: "/_ilm/policy/{{p}}-x", body: `{"policy":{"phases":{"hot":{"min_age":"0ms","actions":{"set_priority":{"priority":100}}},"delete":{"min_age":"396d","actions":{"delete":{}}}}}}`, status: 200,
				want: `{"acknowledged":true}`},
		},
		cleanup: []string{"DELETE /_ilm/policy/{{p}}-x"},
	},
	{
		name:     "security: create_doc writes, auto_configure creates, nothing else",
		source:   "IndexPrivilege.java; AuthorizationDenialMessages.java; DefaultAuthenticationFailureHandler",
		security: true,
		steps: []step{
			{method: "PUT", path: "/_security/role/{{p}}-writer", body: `{"indices":[{"names":["{{p}}-sec*"],"privileges":["create_doc"]}]}`, status: 200, want: `{"role":{"created":true}}`},
			{method: "PUT", path: "/_security/role/{{p}}-bad", body: `{"indices":[{"names":["x"],"privileges":["frobnicate"]}]}`, status: 400,
				want: `{"error":{"type":"illegal_argument_exception","reason":"~unknown index privilege \\[frobnicate\\]"}}`},
			{method: "PUT", path: "/_security/user/{{p}}-writer", body: `{"password":"{{p}}-secret","roles":["{{p}}-writer"]}`, status: 200, want: `{"created":true}`},
			{method: "PUT", path: "/{{p}}-sec-a", status: 200},
			{method: "POST", path: "/_bulk", body: "AS-WRITER " + bulk("{{p}}-sec-a", "1="+doc), status: 200, want: `{"errors":false}`},
			{method: "POST", path: "/_bulk", body: "AS-WRITER " + bulk("{{p}}-sec-new", "1="+doc), status: 200,
				want: `{"items":[{"create":{"status":403,"error":{"type":"security_exception","reason":"~indices:admin/auto_create\\] is unauthorized.*auto_configure"}}}]}`},
			{method: "POST", path: "/{{p}}-sec-a/_search", body: "AS-WRITER {}", status: 403, want: `{"error":{"type":"security_exception","reason":"~is unauthorized"}}`},
			{method: "GET", path: "/", body: "AS-WRITER ", status: 403, want: `{"error":{"type":"security_exception","reason":"~cluster:monitor/main\\] is unauthorized"}}`},
			{method: "PUT", path: "/_security/role/{{p}}-writer", body: `{"indices":[{"names":["{{p}}-sec*"],"privileges":["create_doc","auto_configure"]}]}`, status: 200, want: `{"role":{"created":false}}`},
			{method: "POST", path: "/_bulk", body: "AS-WRITER " + bulk("{{p}}-sec-new", "1="+doc), status: 200, want: `{"errors":false}`},
			{method: "POST", path: "/_bulk", body: "AS-NOBODY " + bulk("{{p}}-sec-a", "2="+doc), status: 401,
				want: `{"error":{"type":"security_exception","reason":"~unable to authenticate"}}`},
		},
		cleanup: []string{"DELETE /_security/user/{{p}}-writer", "DELETE /_security/role/{{p}}-writer", "DELETE /{{p}}-sec-a", "DELETE /{{p}}-sec-new"},
	},
	{
		name:   "search: points in time, an implicit _shard_doc tiebreaker, search_after, totals only when asked",
		source: "paginate-search-results.md; specification/_global/search/SearchRequest.ts (track_total_hits); RestSearchAction; SearchContextMissingException",
		steps: []step{
			{method: "PUT", path: "/{{p}}-s", body: `{"mappings":{"properties":{"@timestamp":{"type":"date"}}}}`, status: 200},
			{method: "POST", path: "/_bulk?refresh=true", status: 200, want: `{"errors":false}`, body: bulk("{{p}}-s",
				`1={"@timestamp":"2025-11-20T10:00:03Z"}`, `2={"@timestamp":"2025-11-20T10:00:02Z"}`, `3={"@timestamp":"2025-11-20T10:00:01Z"}`)},
			{method: "POST", path: "/{{p}}-s/_pit?keep_alive=1m", status: 200, save: map[string]string{"pit": "id"}},
			{method: "POST", path: "/_search", status: 200, body: `{"size":1,"pit":{"id":"{{pit}}","keep_alive":"1m"},"sort":[{"@timestamp":{"order":"desc"}}],"track_total_hits":true}`,
				want: `{"pit_id":"<any>","hits":{"total":{"value":3,"relation":"eq"},"hits":[{"_id":"1","sort":[1763632803000,"<any>"]}]}}`, save: map[string]string{"after": "hits.hits.0.sort"}},
			{method: "POST", path: "/_search", status: 200, body: `{"size":1,"pit":{"id":"{{pit}}","keep_alive":"1m"},"sort":[{"@timestamp":{"order":"desc"}}],"search_after":{{after}},"track_total_hits":false}`,
				want: `{"hits":{"total":"<absent>","hits":[{"_id":"2"}]}}`},
			{method: "POST", path: "/{{p}}-s/_search", status: 400, body: `{"pit":{"id":"{{pit}}"}}`, want: `{"error":{"type":"action_request_validation_exception","reason":"~cannot be used with point in time"}}`},
			{method: "DELETE", path: "/_pit", status: 200, body: `{"id":"{{pit}}"}`, want: `{"succeeded":true}`},
			{method: "POST", path: "/_search", status: 404, body: `{"size":1,"pit":{"id":"{{pit}}","keep_alive":"1m"}}`,
				want: `{"error":{"root_cause":[{"type":"search_context_missing_exception"}]}}`},
		},
		cleanup: []string{"DELETE /{{p}}-s"},
	},
	{
		name:   "keyset paging without a point in time: sort on date_nanos, a keyword and _index; exists; a pattern matching nothing",
		source: "mapping-index-field.md (_index in sorts); paginate-search-results.md (search_after); query-dsl-exists-query.md; multi-target syntax (allow_no_indices defaults to true)",
		steps: []step{
			{method: "PUT", path: "/{{p}}-k1", body: `{"mappings":{"properties":{"@timestamp":{"type":"date_nanos"},"id":{"type":"keyword"},"org":{"type":"keyword"}}}}`, status: 200},
			{method: "PUT", path: "/{{p}}-k2", body: `{"mappings":{"properties":{"@timestamp":{"type":"date_nanos"},"id":{"type":"keyword"},"org":{"type":"keyword"}}}}`, status: 200},
			{method: "POST", path: "/_bulk?refresh=true", status: 200, want: `{"errors":false}`, body: bulk("{{p}}-k1", `a={"@timestamp":"2025-11-20T10:00:00.000000001Z","id":"a","org":"x"}`)},
			{method: "POST", path: "/_bulk?refresh=true", status: 200, want: `{"errors":false}`, body: bulk("{{p}}-k2",
				`a={"@timestamp":"2025-11-20T10:00:00.000000001Z","id":"a"}`, `b={"@timestamp":"2025-11-20T09:00:00Z","id":"b","org":null}`)},
			{method: "POST", path: "/{{p}}-k1,{{p}}-k2/_search", status: 200, body: `{"size":1,"sort":[{"@timestamp":{"order":"desc"}},{"id":{"order":"desc"}},{"_index":{"order":"desc"}}],"track_total_hits":false}`,
				want: `{"hits":{"hits":[{"_index":"{{p}}-k2","_id":"a","sort":["<any>","a","{{p}}-k2"]}]}}`, save: map[string]string{"after": "hits.hits.0.sort"}},
			{method: "POST", path: "/{{p}}-k1,{{p}}-k2/_search", status: 200, body: `{"size":1,"sort":[{"@timestamp":{"order":"desc"}},{"id":{"order":"desc"}},{"_index":{"order":"desc"}}],"search_after":{{after}}}`,
				want: `{"hits":{"hits":[{"_index":"{{p}}-k1","_id":"a"}]}}`},
			{method: "POST", path: "/{{p}}-k1,{{p}}-k2/_search", status: 200, body: `{"query":{"bool":{"must_not":[{"exists":{"field":"org"}}]}},"sort":[{"_index":{"order":"asc"}},{"id":{"order":"asc"}}]}`,
				want: `{"hits":{"hits":[{"_index":"{{p}}-k2","_id":"a"},{"_index":"{{p}}-k2","_id":"b"}]}}`},
			{method: "POST", path: "/{{p}}-nothing-*,{{p}}-none.*-x-*/_search", status: 200, body: `{}`, want: `{"hits":{"hits":[]}}`},
		},
		cleanup: []string{"DELETE /{{p}}-k1", "DELETE /{{p}}-k2"},
	},
	{
		name:   "an index that would pass cluster.max_shards_per_node is refused",
		source: "ShardLimitValidator (validation_exception)",
		steps: []step{
			{method: "PUT", path: "/_cluster/settings", body: `{"persistent":{"cluster.max_shards_per_node":1}}`, status: 200},
			{method: "PUT", path: "/{{p}}-shards", status: 400, want: `{"error":{"type":"validation_exception","reason":"~this action would add \\[\\d+\\] shards"}}`},
			{method: "POST", path: "/_bulk", body: bulk("{{p}}-shards", "1="+doc), status: 200,
				want: `{"items":[{"create":{"status":400,"error":{"type":"validation_exception"}}}]}`},
			{method: "PUT", path: "/_cluster/settings", body: `{"persistent":{"cluster.max_shards_per_node":null}}`, status: 200},
		},
		cleanup: []string{`PUT /_cluster/settings {"persistent":{"cluster.max_shards_per_node":null}}`, "DELETE /{{p}}-shards"},
	},
	{
		name:   "search and _count see a document only after a refresh",
		source: "index-modules.md (index.refresh_interval); specification/indices/refresh",
		steps: []step{
			{method: "PUT", path: "/{{p}}-r", body: `{"settings":{"index":{"refresh_interval":"-1"}}}`, status: 200},
			{method: "POST", path: "/_bulk", body: bulk("{{p}}-r", "1="+doc), status: 200, want: `{"errors":false}`},
			{method: "GET", path: "/{{p}}-r/_count", status: 200, want: `{"count":0}`},
			{method: "POST", path: "/{{p}}-r/_refresh", status: 200, want: `{"_shards":{"failed":0}}`},
			{method: "GET", path: "/{{p}}-r/_count", status: 200, want: `{"count":1}`},
		},
		cleanup: []string{"DELETE /{{p}}-r"},
	},
}
