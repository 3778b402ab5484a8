# The given files, then every file in sources_dir (the names are not known before the read).
for file in "$@" "$sources_dir"/*.list "$sources_dir"/*.sources; do
    [ -f "$file" ] || continue
    echo "${section}$file"
    while IFS= read -r line; do printf '|%s\n' "$line"; done < "$file"
    # A last line without its newline is left in $line by the read that failed.
    if [ -n "$line" ]; then printf '|%s\n' "$line"; fi
done
true
