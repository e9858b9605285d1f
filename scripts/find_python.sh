#!/usr/bin/env bash
# Print a Python 3.12 interpreter: python3.12 on PATH, else pyenv's, else fail with a clear message.
set -u
for cand in python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then
    command -v "$cand"; exit 0
  fi
done
if command -v pyenv >/dev/null 2>&1; then
  v=$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12' | tail -n 1)
  if [ -n "$v" ]; then echo "$(pyenv root)/versions/$v/bin/python3.12"; exit 0; fi
fi
echo "error: Python 3.12 not found (tried python3.12 and ~/.pyenv/versions/3.12*)" >&2
exit 1
