# fields.jq: the fields of an OCI config.json that lessons 07-17 did by hand, one per line
# (jq -r -f fields.jq config.json)
"process.args: \(.process.args | join(" "))",
"process.terminal: \(.process.terminal)",
"process.user: uid \(.process.user.uid), gid \(.process.user.gid)",
"process.cwd: \(.process.cwd)",
"process.capabilities: \(.process.capabilities.bounding | map(ascii_downcase) | join(" "))",
"process.noNewPrivileges: \(.process.noNewPrivileges)",
"root.path: \(.root.path) (readonly: \(.root.readonly))",
"hostname: \(.hostname)",
"mounts: \([.mounts[] | "\(.destination) (\(.type))"] | join(", "))",
"linux.namespaces: \([.linux.namespaces[].type] | join(" "))",
"linux.resources: \(.linux.resources | tojson)",
"linux.cgroupsPath: \(.linux.cgroupsPath // "(none: runc uses /ID)")",
"linux.maskedPaths: \(.linux.maskedPaths | length) paths hidden, e.g. \(.linux.maskedPaths[0])",
"linux.readonlyPaths: \(.linux.readonlyPaths | join(" "))"
