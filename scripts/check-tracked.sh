#!/usr/bin/env bash
# Fails when git tracks a binary file or a file over 1 MB (MAX_BYTES):
# build output belongs in bin/ or dist/ (both ignored), large data in a
# test that makes it. Checks the index, so what a commit would hold.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
max=${MAX_BYTES:-1048576}

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# hash<TAB>path of every tracked blob (submodules, mode 160000, have none).
git ls-files -s | awk -F '\t' '{ split($1, m, " "); if (m[1] != "160000") print m[2] "\t" $2 }' >"$tmp"
# git's own binary test (a NUL byte near the start, or a binary attribute):
# git grep -I lists the text files that have a line.
declare -A text
while IFS= read -r path; do text[$path]=1; done < <(git grep --cached -I -l -e '')

status=0
while IFS=$'\t' read -r size path; do
	if [ "$size" -gt "$max" ]; then
		echo "$path is $size bytes, over $max: keep it out of git (git rm --cached '$path'; make it in the test or the build that needs it)" >&2
		status=1
	fi
	if [ "$size" -gt 0 ] && [ -z "${text[$path]:-}" ]; then
		echo "$path is binary: build output goes to bin/ (ignored); git rm --cached '$path' and add it to .gitignore" >&2
		status=1
	fi
done < <(cut -f1 "$tmp" | git cat-file --batch-check='%(objectsize)' | paste - <(cut -f2 "$tmp"))
exit $status
