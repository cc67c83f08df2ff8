# ami-wizard probe: gathers every fact every check needs, in one run, read-only.
# Runs under dash, bash and busybox sh.  Arguments:
#   $1 ROOT      "/" for a live system, else the mount point of an image
#   $2 LIVE      1 when this is the running system (sshd -T, metadata), else 0
#   $3 IMDS      auto | always | never  (read instance metadata)
#   $4 ENDPOINT  instance metadata base URL (configurable so tests use a loopback stub)
#   $5 DEPTH     how deep to search home directories
#   $6 TMO       seconds allowed for each file search
#   $7 MAXSIZE   bytes read at most from one file
# Output: records of NUL-terminated fields; a field of a single 0x1e byte ends a record.
# File names are only ever passed as arguments or printed as data, never evaluated.
LC_ALL=C
export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 077
unset HISTFILE
R=${1:-/}
LIVE=${2:-0}
IMDS=${3:-auto}
EP=${4:-}
DEPTH=${5:-4}
TMO=${6:-10}
MAXSIZE=${7:-262144}
case $R in */) R=${R%/} ;; esac
NL='
'
TO=
if command -v timeout >/dev/null 2>&1; then TO="timeout $TMO"; fi
FINDPRINTF=0
if find / -maxdepth 0 -printf '' >/dev/null 2>&1; then FINDPRINTF=1; fi

f() { for a do printf '%s\000' "$a"; done; }
end() { printf '\036\000'; }
rec() { f "$@"; end; }
note() { rec note "$1"; }

# Content of a list of files (absolute paths under ROOT, one per line; no newline in them),
# one record per file: category, path, then "=" and the text with NUL bytes removed.
dump() {
  cat=$1
  printf '%s\n' "$2" | while IFS= read -r p; do
    [ -n "$p" ] || continue
    [ -f "$R$p" ] && [ -r "$R$p" ] || continue
    f content "$cat" "$p"
    printf '='
    head -c "$MAXSIZE" -- "$R$p" 2>/dev/null | tr -d '\000'
    printf '\000'
    end
  done
}

# Metadata of files found by find; arguments: KIND, then find's starting points and tests.
# Paths are printed relative to ROOT by stripping the prefix in Python.
listing() {
  kind=$1
  shift
  f list "$kind"
  if [ "$FINDPRINTF" = 1 ]; then
    $TO find "$@" -printf '%s %m %U %G %T@\000%p\000' 2>/dev/null
  else
    $TO find "$@" -exec sh -c '
      for p do
        s=$(stat -c "%s %a %u %g %Y" -- "$p" 2>/dev/null) || continue
        printf "%s\000%s\000" "$s" "$p"
      done' sh {} + 2>/dev/null
  fi
  rc=$?
  end
  [ "$rc" -eq 124 ] && note "limit: file search for $kind stopped after ${TMO}s"
}

# ---- system identity -------------------------------------------------------------
rec probe 1 "$R" "$LIVE" "$(id -u 2>/dev/null)"
if [ "$LIVE" = 1 ]; then
  rec uname "$(uname -r 2>/dev/null)" "$(cat /proc/sys/kernel/hostname 2>/dev/null || hostname 2>/dev/null)"
fi
SSHD_BIN=
for b in /usr/sbin/sshd /usr/local/sbin/sshd /sbin/sshd /usr/bin/sshd; do
  [ -f "$R$b" ] && { SSHD_BIN=$b; break; }
done
if [ -n "$SSHD_BIN" ]; then
  rec sshd_version "$SSHD_BIN" "$(grep -a -o 'OpenSSH_[0-9][0-9.]*p[0-9]*' "$R$SSHD_BIN" 2>/dev/null | head -n 1)"
fi

# ---- which files to read whole ------------------------------------------------------
files="/etc/os-release${NL}/usr/lib/os-release${NL}/etc/hostname${NL}/etc/passwd${NL}/etc/machine-id"
files="$files${NL}/var/lib/dbus/machine-id${NL}/etc/rc.local${NL}/etc/rc.d/rc.local${NL}/etc/sudoers"
files="$files${NL}/var/lib/update-notifier/updates-available"
for p in "$R"/etc/sudoers.d/* "$R"/etc/cloud/cloud.cfg "$R"/etc/cloud/cloud.cfg.d/*; do
  [ -f "$p" ] && files="$files${NL}${p#"$R"}"
done
[ -L "$R/var/lib/dbus/machine-id" ] && rec symlink /var/lib/dbus/machine-id

# sshd_config and every file its Include lines reach, as sshd reads them: the arguments are
# split like misc.c argv_split() (quotes, backslash escapes, `#` comments), so quoted paths
# with spaces work, and Includes are followed down to sshd's own limit of 16 levels (one more
# level is read so that the model can report a chain sshd would refuse). A superset is fine:
# the model decides what sshd really reads.
SSHD_MAIN=/etc/ssh/sshd_config
SSHD_INC_AWK='
function argv(s,   n, i, c, q, a, out) {
  n = length(s); i = 1; out = ""
  while (i <= n) {
    c = substr(s, i, 1)
    if (c == " " || c == "\t") { i++; continue }
    if (c == "#") break
    q = ""; a = ""
    while (i <= n) {
      c = substr(s, i, 1)
      if (c == "\\" && i < n && (index("\"" sq "\\", substr(s, i + 1, 1)) || (q == "" && substr(s, i + 1, 1) == " "))) {
        i++; a = a substr(s, i, 1)
      } else if (q == "" && (c == " " || c == "\t")) break
      else if (q == "" && (c == "\"" || c == sq)) q = c
      else if (q != "" && c == q) q = ""
      else a = a c
      i++
    }
    if (q != "") return ""
    out = out a "\n"
  }
  return out
}
{
  s = $0; sub(/^[ \t\r]+/, "", s); sub(/[ \t\r\f]+$/, "", s)
  if (substr(s, 1, 1) == "=") { s = substr(s, 2); sub(/^[ \t\r]+/, "", s) }
  if (substr(s, 1, 1) == "\"") {
    s = substr(s, 2); k = index(s, "\""); if (k == 0) next
    kw = substr(s, 1, k - 1); rest = substr(s, k + 1); sub(/^[ \t]+/, "", rest)
  } else {
    if (match(s, /[ \t"=]/) == 0) next
    kw = substr(s, 1, RSTART - 1); sep = substr(s, RSTART, 1); rest = substr(s, RSTART + 1)
    sub(/^[ \t]+/, "", rest)
    if (sep != "=" && substr(rest, 1, 1) == "=") { rest = substr(rest, 2); sub(/^[ \t]+/, "", rest) }
  }
  if (tolower(kw) == "include") printf "%s", argv(rest)
}'
sshd_files=$SSHD_MAIN
todo=$SSHD_MAIN
level=0
nfiles=1
capped=0
while [ -n "$todo" ] && [ "$level" -le 16 ]; do
  level=$((level + 1))
  pats=$(printf '%s\n' "$todo" | while IFS= read -r p; do
    [ -f "$R$p" ] && tr -d '\000' < "$R$p" 2>/dev/null | awk -v sq="'" "$SSHD_INC_AWK" 2>/dev/null
  done)
  todo=
  oldifs=$IFS
  IFS=$NL  # a pattern may hold spaces: split the list on newlines only ...
  set -f   # ... and without globbing it here
  for pat in $pats; do
    case $pat in /*) ;; "~"*) continue ;; *) pat=/etc/ssh/$pat ;; esac
    set +f  # the glob is expanded under ROOT only (a glob runs no command)
    for g in "$R"$pat; do
      [ -f "$g" ] || continue
      rel=${g#"$R"}
      case "$NL$sshd_files$NL" in *"$NL$rel$NL"*) continue ;; esac
      case $rel in *"$NL"*) continue ;; esac
      if [ "$nfiles" -ge 512 ]; then capped=1; break; fi
      nfiles=$((nfiles + 1))
      sshd_files="$sshd_files$NL$rel"
      todo="$todo$NL$rel"
    done
    set -f
  done
  set +f
  IFS=$oldifs
done
[ "$capped" = 1 ] && note "limit: sshd Include files beyond 512 were not read"
rec sshd_main "$SSHD_MAIN"

# ---- sshd -T: the running configuration, the truth on a live system --------------------
SSHD_T=
if [ "$LIVE" = 1 ] && [ -n "$SSHD_BIN" ]; then
  SSHD_T=$($TO "$SSHD_BIN" -T 2>/dev/null)
  rc=$?
  err=
  # Only on failure run it again for its message: no temp file of ours on the target.
  [ "$rc" -ne 0 ] && err=$($TO "$SSHD_BIN" -T 2>&1 >/dev/null | head -c 2000)
  rec sshd_t "$rc" "$SSHD_T" "$err"
  # The same for a few fixed connections, so that sshd itself says what its Match blocks
  # give root and an ordinary account, from loopback and from a documentation address
  # (203.0.113.9, never contacted: -C only evaluates the configuration). sshd needs user,
  # host and addr; laddr and lport are given too so that LocalAddress/LocalPort blocks count
  # (with such blocks a plain `sshd -T` refuses to answer, so these run even when it failed).
  lport=$(printf '%s\n' "$SSHD_T" | awk '$1 == "port" { print $2; exit }')
  case $lport in '' | *[!0-9]*) lport=22 ;; esac
  other=$(awk -F: '$3 >= 1000 && $3 < 60000 && $1 ~ /^[a-z_][a-z0-9_.-]*$/ { print $1; exit }' \
    "$R/etc/passwd" 2>/dev/null)
  [ -n "$other" ] || other=nobody
  for u in root "$other"; do
    for a in 127.0.0.1 203.0.113.9; do
      l=127.0.0.1
      [ "$a" = 127.0.0.1 ] || l=192.0.2.10
      spec="user=$u,host=$a,addr=$a,laddr=$l,lport=$lport"
      out=$($TO "$SSHD_BIN" -T -C "$spec" 2>/dev/null)
      rec sshd_tc "$spec" "$?" "$out"
    done
  done
fi

# ---- accounts: passwd is read whole; shadow is only classified, never sent ------------
if [ -r "$R/etc/shadow" ]; then
  f shadow
  awk -F: '{
      p = $2; s = "usable"
      if (p == "") s = "empty"
      else if (p ~ /^[!*]/) s = "locked"
      scheme = ""
      if (p ~ /^[!]?\$[0-9a-z]+\$/) { q = p; sub(/^!/, "", q); split(q, a, "$"); scheme = a[2] }
      printf "%s %s %s\n", $1, s, scheme
    }' "$R/etc/shadow" 2>/dev/null | tr -d '\000'
  printf '\000'
  end
elif [ -e "$R/etc/shadow" ]; then
  note "shadow: /etc/shadow is not readable (not root?)"
fi

# ---- key files: where sshd's settings say, plus the usual places -------------------------
# Host keys and AuthorizedKeysFile patterns from the config files (any context, a superset),
# and from sshd -T when we have it.
keyconf=$(printf '%s\n' "$sshd_files" | while IFS= read -r p; do
  [ -f "$R$p" ] && awk '{ k = tolower($1); sub(/=$/, "", k)
      if (k == "hostkey" || k == "authorizedkeysfile") { $1 = ""; print k $0 } }' "$R$p" 2>/dev/null
done)
if [ -n "$SSHD_T" ]; then
  keyconf="$keyconf$NL$(printf '%s\n' "$SSHD_T" | awk '$1 == "hostkey" || $1 == "authorizedkeysfile"')"
fi
keypaths=$(printf '%s\n' "$keyconf" | awk -v passwd="$R/etc/passwd" '
  BEGIN { n = 0
    while ((getline line < passwd) > 0) {
      split(line, a, ":"); if (a[6] == "") continue
      n++; user[n] = a[1]; home[n] = a[6]; uid[n] = a[3] }
    ak["%h/.ssh/authorized_keys"] = 1; ak["%h/.ssh/authorized_keys2"] = 1 }
  $1 == "hostkey" { for (i = 2; i <= NF; i++) print $i }
  $1 == "authorizedkeysfile" { for (i = 2; i <= NF; i++) if ($i != "none") ak[$i] = 1 }
  END {
    for (pat in ak) for (j = 1; j <= n; j++) {
      s = pat; out = ""
      while ((k = index(s, "%")) > 0) {
        c = substr(s, k + 1, 1); out = out substr(s, 1, k - 1)
        if (c == "h") out = out home[j]; else if (c == "u") out = out user[j]
        else if (c == "U") out = out uid[j]; else if (c == "%") out = out "%"
        s = substr(s, k + 2) }
      out = out s
      if (out !~ /^\//) out = home[j] "/" out
      print "ak " user[j] " " out }
  }')
hostkeys=
akfiles=
oldifs=$IFS
IFS=$NL
set -f
for line in $keypaths; do
  IFS=$oldifs
  case $line in
    "ak "*)
      rest=${line#ak }
      u=${rest%% *}
      p=${rest#* }
      if [ -f "$R$p" ]; then rec akfile "$u" "$p"; akfiles="$akfiles$NL$p"; fi
      ;;
    *)
      [ -e "$R$line" ] && hostkeys="$hostkeys$NL$line"
      [ -e "$R$line.pub" ] && hostkeys="$hostkeys$NL$line.pub"
      ;;
  esac
  IFS=$NL
done
set +f
IFS=$oldifs
for p in "$R"/etc/ssh/ssh_host_*key "$R"/etc/ssh/ssh_host_*key.pub; do
  [ -e "$p" ] && hostkeys="$hostkeys$NL${p#"$R"}"
done
hostkeys=$(printf '%s\n' "$hostkeys" | awk 'NF && !seen[$0]++')
akfiles=$(printf '%s\n' "$akfiles" | awk 'NF && !seen[$0]++')
if [ -n "$hostkeys" ]; then
  f list hostkey
  printf '%s\n' "$hostkeys" | while IFS= read -r p; do
    s=$(stat -c '%s %a %u %g %Y' -- "$R$p" 2>/dev/null) && printf '%s\000%s\000' "$s" "$R$p"
  done
  end
fi
if [ -n "$akfiles" ]; then
  f list authorized_keys
  printf '%s\n' "$akfiles" | while IFS= read -r p; do
    s=$(stat -c '%s %a %u %g %Y' -- "$R$p" 2>/dev/null) && printf '%s\000%s\000' "$s" "$R$p"
  done
  end
fi
pubs=$(printf '%s\n' "$hostkeys" | awk '/\.pub$/')

# ---- histories and credentials in every home (from /etc/passwd) and the usual drop places --
homes=$({ awk -F: '$6 != "" && $6 != "/" { print $6 }' "$R/etc/passwd" 2>/dev/null
  printf '%s\n' /root /tmp /var/tmp /opt /srv; } | awk '!seen[$0]++')
set --
oldifs=$IFS
IFS=$NL
set -f
for h in $homes; do
  [ -d "$R$h" ] && [ ! -L "$R$h" ] && set -- "$@" "$R$h"
done
set +f
IFS=$oldifs
if [ $# -gt 0 ]; then
  PRUNE="( -name node_modules -o -name .cache -o -name .git -o -name .npm -o -name .rustup -o -name .cargo -o -name proc ) -prune -o"
  # shellcheck disable=SC2086
  listing history "$@" -xdev -maxdepth "$DEPTH" $PRUNE -type f \
    \( -name '.*history' -o -name '.*_history*' -o -name '.*hist' -o -name '.histfile' -o -name '.lesshst' \
       -o -name '.viminfo' -o -name 'fish_history' -o -name '.zhistory' -o -name '.*_hist' \)
  # shellcheck disable=SC2086
  listing credential "$@" -xdev -maxdepth "$DEPTH" $PRUNE -type f \
    \( -name 'pk-*.pem' -o -name 'cert-*.pem' -o -path '*/.aws/credentials' -o -path '*/.aws/config' \
       -o -name 'id_rsa' -o -name 'id_dsa' -o -name 'id_ecdsa' -o -name 'id_ed25519' -o -name 'id_*_sk' \
       -o -name '.s3cfg' -o -name '.boto' -o -name '.netrc' -o -name '.git-credentials' -o -name '.pgpass' \
       -o -path '*/.docker/config.json' -o -name '*.ppk' -o -name '*.p12' -o -name '*.pfx' \)
  # Secrets inside those files: kind, line number and only the first 4 characters.
  f secrets
  # shellcheck disable=SC2086
  $TO find "$@" -xdev -maxdepth "$DEPTH" $PRUNE -type f -size -1024k \
    \( -name 'pk-*.pem' -o -name 'cert-*.pem' -o -path '*/.aws/*' -o -name 'id_*' -o -name '.s3cfg' \
       -o -name '.boto' -o -name '.netrc' -o -name '.git-credentials' -o -name '.pgpass' -o -name '*.key' \
       -o -path '*/.docker/config.json' -o -name '.env' -o -name '.bashrc' -o -name '.profile' \
       -o -name '.bash_profile' -o -name '.zshrc' -o -name '.envrc' -o -name '*.ppk' \) \
    -exec awk '
      function hit(kind, s) { printf "%s\t%s\t%s\t%s\n", esc(FILENAME), FNR, kind, substr(s, 1, 4) }
      function esc(s) { gsub(/\\/, "\\\\", s); gsub(/\n/, "\\n", s); gsub(/\t/, "\\t", s); return s }
      {
        line = $0
        if (match(line, /A(KIA|SIA)[A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9]/))
          hit("aws-access-key-id", substr(line, RSTART, RLENGTH))
        l = tolower(line)
        if (l ~ /aws_secret_access_key[ \t]*[=:]/ || l ~ /secretaccesskey[" \t]*[=:]/) {
          v = line; sub(/^[^=:]*[=:][ \t"]*/, "", v); if (v != "") hit("aws-secret-access-key", v) }
        if (l ~ /aws_session_token[ \t]*[=:]/) {
          v = line; sub(/^[^=:]*[=:][ \t"]*/, "", v); if (v != "") hit("aws-session-token", v) }
        if (line ~ /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/) hit("private-key", "----")
        if (line ~ /-----BEGIN CERTIFICATE-----/) hit("certificate", "----")
        if (l ~ /(^|[^a-z])(password|passwd|token|secret)[ \t]*[=:]/ && l !~ /aws_secret_access_key|aws_session_token|secretaccesskey/) {
          v = line; sub(/^[^=:]*[=:][ \t"]*/, "", v); if (v != "") hit("token", v) }
      }' {} + 2>/dev/null | tr -d '\000'
  printf '\000'
  end
fi

# ---- first boot: cloud-init, units, rc.local -------------------------------------------
ci=
for b in /usr/bin/cloud-init /usr/local/bin/cloud-init; do [ -f "$R$b" ] && ci=$b; done
ci_disabled=0
[ -e "$R/etc/cloud/cloud-init.disabled" ] && ci_disabled=1
ci_ver=
for d in "$R"/usr/lib/python3*/*-packages/cloudinit/version.py "$R"/usr/lib/python3/dist-packages/cloudinit/version.py; do
  [ -f "$d" ] && ci_ver=$(awk -F'"' '/^__VERSION__/ { print $2; exit }' "$d" 2>/dev/null) && break
done
f cloudinit "$ci" "$ci_disabled" "$ci_ver"
for p in "$R"/var/lib/cloud/instances/* "$R"/var/lib/cloud/instance "$R"/var/lib/cloud/data/* \
  "$R"/var/lib/cloud/sem/* "$R"/var/log/cloud-init.log "$R"/var/log/cloud-init-output.log; do
  { [ -e "$p" ] || [ -L "$p" ]; } && f "${p#"$R"}"
done
end

# First-boot units: by name, and any local unit whose commands touch keys or metadata.
units=
for d in /etc/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
  for p in "$R$d"/*.service; do
    [ -f "$p" ] || continue
    case ${p##*/} in
      *ssh*|*keygen*|*ami-wizard*|*launch-key*|*firstboot*|*first-boot*|cloud-init*.service|ec2*|*imds*)
        units="$units$NL${p#"$R"}" ;;
    esac
  done
done
found=$(grep -l -E 'ssh-keygen|meta-data|product-codes|openssh-key|chpasswd|usermod' \
  "$R"/etc/systemd/system/*.service 2>/dev/null)
oldifs=$IFS
IFS=$NL
set -f
for p in $found; do
  units="$units$NL${p#"$R"}"
done
set +f
IFS=$oldifs
units=$(printf '%s\n' "$units" | awk 'NF && !seen[$0]++')
for p in "$R"/etc/systemd/system/*.wants/*; do
  [ -L "$p" ] || [ -f "$p" ] || continue
  rec wants "${p#"$R"}"
done

dump sys "$files"
dump sshd "$sshd_files"
dump pub "$pubs"
dump ak "$akfiles"
dump unit "$units"

# ---- packages and AMI tools ------------------------------------------------------------
pm=
for c in apt-get:apt dnf:dnf yum:yum apk:apk zypper:zypper; do
  [ -x "$R/usr/bin/${c%%:*}" ] || [ -x "$R/sbin/${c%%:*}" ] && { pm=${c#*:}; break; }
done
f pkg "$pm"
for p in "$R"/opt/aws/bin/ec2-bundle-vol "$R"/usr/bin/ec2-bundle-vol "$R"/usr/local/bin/ec2-bundle-vol \
  "$R"/opt/aws/amitools/ec2/bin/ec2-bundle-vol; do
  [ -f "$p" ] && f "${p#"$R"}"
done
end

# ---- instance metadata (IMDSv2), only on EC2 and only from the configured endpoint ------
if [ "$LIVE" = 1 ] && [ "$IMDS" != never ] && [ -n "$EP" ]; then
  ec2=0
  [ "$IMDS" = always ] && ec2=1
  for p in /sys/devices/virtual/dmi/id/sys_vendor /sys/devices/virtual/dmi/id/bios_vendor; do
    [ -r "$p" ] && case $(cat "$p" 2>/dev/null) in *Amazon*) ec2=1 ;; esac
  done
  [ -r /sys/hypervisor/uuid ] && case $(cat /sys/hypervisor/uuid 2>/dev/null) in ec2*|EC2*) ec2=1 ;; esac
  if [ "$ec2" = 1 ]; then
    if command -v curl >/dev/null 2>&1; then
      tok=$(curl -sf -m 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "$EP/latest/api/token" 2>/dev/null)
      get() { curl -sf -m 2 -H "X-aws-ec2-metadata-token: $tok" "$EP/latest/meta-data/$1" 2>/dev/null; }
      if [ -n "$tok" ]; then
        rec imds "$(get instance-id)" "$(get ami-id)" "$(get product-codes)"
      else
        note "imds: no token from the metadata endpoint"
      fi
    else
      note "imds: curl is not installed, instance metadata not read"
    fi
  fi
fi
rec done
