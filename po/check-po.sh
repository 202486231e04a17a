#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Usage: check-po.sh SOURCE_ROOT LANG
# The translation must be complete for the strings the sources have now: extract them afresh (the same
# xgettext arguments as meson's glib preset), merge LANG.po with them, and require msgfmt --check to pass
# with no untranslated or fuzzy message.
set -u
src=$1
lang=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

grep -v '^#' "$src/po/POTFILES.in" | grep -v '^$' >"$tmp/files"
xgettext --directory="$src" --files-from="$tmp/files" --output="$tmp/gaflow.pot" --from-code=UTF-8 \
  --add-comments --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 --keyword=g_dngettext:2,3 \
  --flag=N_:1:pass-c-format --flag=C_:2:pass-c-format --flag=NC_:2:pass-c-format \
  --flag=g_strdup_printf:1:c-format --flag=g_string_printf:2:c-format \
  --flag=g_string_append_printf:2:c-format --flag=g_set_error:4:c-format 2>"$tmp/xgettext.log" ||
  { cat "$tmp/xgettext.log"; exit 1; }
if grep -q "warning" "$tmp/xgettext.log"; then
  cat "$tmp/xgettext.log"
  exit 1
fi
msgfmt --check -o /dev/null "$src/po/$lang.po" || exit 1
msgmerge --quiet --no-fuzzy-matching --output-file="$tmp/merged.po" "$src/po/$lang.po" "$tmp/gaflow.pot" || exit 1
stats=$(LC_ALL=C msgfmt --check --statistics -o /dev/null "$tmp/merged.po" 2>&1) || { echo "$stats"; exit 1; }
echo "$lang.po against the current sources: $stats"
case "$stats" in
  *untranslated*|*fuzzy*) echo "incomplete translation: run 'ninja gaflow-update-po' and translate"; exit 1 ;;
  *" translated message"*) exit 0 ;;
  *) exit 1 ;;
esac
