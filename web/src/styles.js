import { css } from 'lit';

// Plain and readable, in the system's fonts: nothing is loaded from anywhere.
export const styles = css`
  :host {
    display: block;
    box-sizing: border-box;
    padding: 16px 20px;
    color: #1f2328;
    background: #fff;
    font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;
    --line: #d0d7de;
    --muted: #57606a;
    --accent: #0969da;
    --soft: #f6f8fa;
    --danger: #cf222e;
    --ok: #1a7f37;
    --warn: #9a6700;
  }
  :host([compact]) {
    padding: 8px;
  }
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }
  .vh {
    position: absolute !important;
    width: 1px;
    height: 1px;
    margin: -1px;
    padding: 0;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
    border: 0;
  }
  header {
    display: flex;
    flex-wrap: wrap;
    align-items: baseline;
    gap: 4px 16px;
    margin-bottom: 12px;
  }
  h1 {
    margin: 0;
    font-size: 20px;
    font-weight: 600;
  }
  :host([compact]) h1 {
    font-size: 16px;
  }
  .who {
    color: var(--muted);
  }
  .spacer {
    flex: 1;
  }
  .scope {
    margin: 0 0 12px;
    padding: 6px 10px;
    border-left: 3px solid var(--accent);
    background: var(--soft);
  }
  form.filters {
    display: flex;
    flex-wrap: wrap;
    align-items: flex-end;
    gap: 10px 14px;
    margin-bottom: 10px;
  }
  .field {
    display: flex;
    flex-direction: column;
    gap: 2px;
  }
  .field > label,
  .field > .label {
    font-size: 12px;
    font-weight: 600;
    color: var(--muted);
  }
  .search {
    flex: 1 1 260px;
  }
  input,
  select,
  button {
    font: inherit;
    color: inherit;
  }
  input,
  select {
    min-height: 32px;
    padding: 4px 8px;
    border: 1px solid var(--line);
    border-radius: 6px;
    background: #fff;
  }
  input[disabled],
  select[disabled] {
    background: var(--soft);
    color: var(--muted);
  }
  .search input {
    width: 100%;
  }
  button {
    min-height: 32px;
    padding: 4px 12px;
    border: 1px solid var(--line);
    border-radius: 6px;
    background: var(--soft);
    cursor: pointer;
  }
  button:hover:not([disabled]) {
    background: #eaeef2;
  }
  button[disabled] {
    cursor: default;
    opacity: 0.55;
  }
  button.primary {
    background: var(--accent);
    border-color: var(--accent);
    color: #fff;
  }
  button.primary:hover:not([disabled]) {
    background: #0550ae;
  }
  button[aria-pressed='true'] {
    background: #ddf4ff;
    border-color: var(--accent);
  }
  :focus-visible {
    outline: 2px solid var(--accent);
    outline-offset: 1px;
  }
  .shortcuts {
    display: flex;
    flex-wrap: wrap;
    gap: 6px;
  }
  .shortcuts button {
    padding: 2px 8px;
    min-height: 28px;
    font-size: 13px;
  }
  .bar {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 8px 14px;
    margin: 8px 0;
  }
  .switch {
    display: inline-flex;
    align-items: center;
    gap: 6px;
  }
  .switch input {
    min-height: 0;
  }
  [role='alert']:not(:empty) {
    margin: 8px 0;
    padding: 8px 12px;
    border: 1px solid #ffcecb;
    border-radius: 6px;
    background: #ffebe9;
    color: #82071e;
  }
  .status {
    color: var(--muted);
    min-height: 1.45em;
  }
  .tablewrap {
    overflow-x: auto;
    border: 1px solid var(--line);
    border-radius: 6px;
  }
  table {
    width: 100%;
    min-width: 960px; /* narrower: the table scrolls sideways, words stay whole */
    border-collapse: collapse;
  }
  caption {
    caption-side: top;
    text-align: left;
    padding: 8px 10px;
    color: var(--muted);
    border-bottom: 1px solid var(--line);
  }
  th,
  td {
    padding: 6px 10px;
    text-align: left;
    vertical-align: top;
    border-bottom: 1px solid #eaeef2;
  }
  th {
    position: sticky;
    top: 0;
    background: var(--soft);
    font-size: 12px;
    font-weight: 600;
    color: var(--muted);
    white-space: nowrap;
  }
  tbody tr {
    cursor: pointer;
  }
  tbody tr:hover {
    background: #f6f8fa;
  }
  tbody tr.quarantined {
    box-shadow: inset 3px 0 0 var(--warn);
  }
  td {
    max-width: 28ch;
    overflow-wrap: break-word;
  }
  td.time,
  td.ip,
  td.region,
  td.outcome {
    white-space: nowrap;
  }
  td.ua {
    max-width: 32ch;
    color: var(--muted);
    font-size: 13px;
  }
  td.ip {
    font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
    font-size: 13px;
  }
  td.empty {
    padding: 24px;
    text-align: center;
    color: var(--muted);
    cursor: default;
  }
  button.open {
    padding: 0;
    min-height: 0;
    border: 0;
    background: none;
    color: var(--accent);
    text-align: left;
    font-variant-numeric: tabular-nums;
  }
  button.open:hover {
    text-decoration: underline;
    background: none;
  }
  .badge {
    display: inline-block;
    margin-left: 6px;
    padding: 0 6px;
    border-radius: 10px;
    font-size: 11px;
    font-weight: 600;
    line-height: 18px;
    white-space: nowrap;
  }
  .badge.quarantined {
    background: #fff8c5;
    color: var(--warn);
    border: 1px solid #d4a72c;
  }
  .outcome-success {
    color: var(--ok);
  }
  .outcome-failure {
    color: var(--danger);
    font-weight: 600;
  }
  .outcome-unknown {
    color: var(--muted);
  }
  .muted {
    color: var(--muted);
  }
  nav.pager {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 10px;
    margin-top: 10px;
  }
  dialog {
    width: min(760px, 94vw);
    max-height: 88vh;
    padding: 0;
    border: 1px solid var(--line);
    border-radius: 8px;
    box-shadow: 0 8px 28px rgba(0, 0, 0, 0.25);
  }
  dialog::backdrop {
    background: rgba(31, 35, 40, 0.4);
  }
  .dlg-head {
    display: flex;
    align-items: center;
    gap: 12px;
    padding: 12px 16px;
    border-bottom: 1px solid var(--line);
    background: var(--soft);
  }
  .dlg-head h2 {
    flex: 1;
    margin: 0;
    font-size: 16px;
  }
  dl {
    display: grid;
    grid-template-columns: minmax(120px, max-content) 1fr;
    gap: 4px 16px;
    margin: 0;
    padding: 12px 16px 16px;
  }
  dt {
    font-weight: 600;
    color: var(--muted);
    font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
    font-size: 12px;
    padding-top: 2px;
  }
  dd {
    margin: 0;
    white-space: pre-wrap;
    overflow-wrap: anywhere;
  }
  form.token {
    max-width: 520px;
    display: flex;
    flex-direction: column;
    gap: 10px;
  }
  form.token input {
    width: 100%;
  }
`;
