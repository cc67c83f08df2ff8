# ami-wizard probe: gathers every fact every check needs, in one run, read-only.
# Runs under dash, bash and busybox sh.  Arguments:
#   $1 ROOT      "/" for a live system, else the mount point of an image
#   $2 LIVE      1 when this is the running system (sshd -T, metadata), else 0
#   $3 IMDS      auto | always | never  (read instance metadata)
#   $4 ENDPOINT  instance metadata base URL (configurable so tests use a loopback stub)
#   $5 MAXF      files listed (or read for secrets) at most by one file search (walked to the bottom)
#   $6 TMO       seconds allowed for each file search
#   $7 MAXSIZE   bytes read at most from one file
#   $8...        stamp files of the first-boot units (checks/_plans.py), reported when present
# Output: records of NUL-terminated fields; a field of a single 0x1e byte ends a record, and a
# field that starts with 0x1e gets one more in front (the parser drops it). Text made by awk
# is escaped: every byte outside printable ASCII, the space and the backslash become \xHH.
# File names are only ever passed as arguments or printed as data, never evaluated.
# Every path under ROOT is resolved inside ROOT as chroot would (rp), never on the host.
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
MAXF=${5:-20000}
TMO=${6:-10}
MAXSIZE=${7:-262144}
case $MAXF in '' | *[!0-9]*) MAXF=20000 ;; esac
case $R in */) R=${R%/} ;; esac
NL='
'
TAB=$(printf '\t')
RS=$(printf '\036')
TO=
if command -v timeout >/dev/null 2>&1; then TO="timeout $TMO"; fi
FINDPRINTF=0
if find / -maxdepth 0 -printf '' >/dev/null 2>&1; then FINDPRINTF=1; fi

f() {
  for a do
    case $a in "$RS"*) printf '\036' ;; esac
    printf '%s\000' "$a"
  done
}
end() { printf '\036\000'; }
rec() { f "$@"; end; }
note() { rec note "$1"; }

# awk: esc(s) makes s printable ASCII without spaces (any byte outside 0x21-0x7e and "\" is
# written \xHH), so that awk's line- and space-framed output cannot be split by a name.
ESC_AWK='
function esc(s,  o, i, c, n) {
  if (!ordok) { for (i = 1; i < 256; i++) ord[sprintf("%c", i)] = i; ordok = 1 }
  o = ""; n = length(s)
  for (i = 1; i <= n; i++) {
    c = substr(s, i, 1)
    if (c > " " && c <= "~" && c != "\\") o = o c; else o = o sprintf("\\x%02x", ord[c])
  }
  return o
}'

# rp PATH: resolve the absolute PATH inside ROOT the way chroot would (an absolute symlink
# starts again at ROOT, ".." stops at ROOT); sets RP to the result, relative to ROOT, with no
# symlink left in it. Fails on a loop (more than 40 links) or an unreadable link.
rp() {
  RP=
  _rest=$1
  _n=0
  while [ -n "$_rest" ]; do
    case $_rest in
      /*) _rest=${_rest#/}; continue ;;
      */*) _c=${_rest%%/*}; _rest=${_rest#*/} ;;
      *) _c=$_rest; _rest= ;;
    esac
    case $_c in
      . | '') continue ;;
      ..) RP=${RP%/*}; continue ;;
    esac
    if [ -L "$R$RP/$_c" ]; then
      _n=$((_n + 1))
      [ "$_n" -le 40 ] || return 1
      _t=$(readlink -- "$R$RP/$_c" 2>/dev/null && echo x)
      _t=${_t%x}
      _t=${_t%"$NL"}
      [ -n "$_t" ] || return 1
      case $_t in /*) RP= ;; esac
      _rest=$_t${_rest:+/$_rest}
    else
      RP=$RP/$_c
    fi
  done
  [ -n "$RP" ] || RP=/
}

# dump1 CATEGORY NAME RESOLVED: one content record for a regular file (NAME is how the
# parser knows it, RESOLVED where rp found it): "=" then its text with NUL bytes removed.
dump1() {
  [ -f "$R$3" ] && [ -r "$R$3" ] || return 0
  f content "$1" "$2"
  printf '='
  head -c "$MAXSIZE" -- "$R$3" 2>/dev/null | tr -d '\000'
  printf '\000'
  end
  sz=$(stat -c %s -- "$R$3" 2>/dev/null) || sz=0
  [ "$sz" -gt "$MAXSIZE" ] && rec truncated "$1" "$2" "$MAXSIZE"
  return 0
}
# dumpf CATEGORY PATH: dump1 for a path named inside ROOT.
dumpf() { rp "$2" && dump1 "$1" "$2" "$RP"; }

# statlist KIND RESOLVED: a `list` record of one file's metadata.
statlist() {
  s=$(stat -c '%s %a %u %g %Y %d %i' -- "$R$2" 2>/dev/null) || return 0
  f list "$1"
  printf '%s\000%s\000' "$s" "$R$2"
  end
}

# File search: find's starting points and tests, each test printing with -printf (LETTER and
# the metadata "size mode uid gid mtime dev ino", then the path) or, where find has no
# -printf, with STAT_SH. One `list` record of at most MAXF+1 pairs (one more than the limit
# tells the parser it was hit), then an empty field and "rc=STATUS" of find when it ran to its
# end (a field find was killed in is ended by that NUL: the parser drops it). Swapping
# NUL and newline around `head -n` counts whole fields whatever bytes the names hold.
listing() {
  f list files
  {
    # shellcheck disable=SC2068
    $TO find "$@" 2>/dev/null
    printf '\000rc=%s\000' "$?"
  } | tr '\000\012' '\012\000' | head -n "$((2 * MAXF + 2))" | tr '\000\012' '\012\000'
  end
}
# The metadata find prints, and the same from stat where find has no -printf ($0: the kind).
PF='%s %m %U %G %T@ %D %i\000%p\000'
STAT_SH='for p do s=$(stat -c "%s %a %u %g %Y %d %i" -- "$p" 2>/dev/null) || continue; printf "%s %s\000%s\000" "$0" "$s" "$p"; done'

# ---- system identity -------------------------------------------------------------
rec probe 1 "$R" "$LIVE" "$(id -u 2>/dev/null)" "$MAXF" "$TMO"
# The first-boot units' stamps that exist in ROOT (paths only, as given): a stamp the builder
# left in the image can stop a unit on every launch. Read before anything resets "$@".
f stamps
if [ "$#" -gt 7 ]; then
  shift 7
  for p do
    rp "$p" && [ -e "$R$RP" ] && f "$p"
  done
fi
end
if [ "$LIVE" = 1 ]; then
  rec uname "$(uname -r 2>/dev/null)" "$(cat /proc/sys/kernel/hostname 2>/dev/null || hostname 2>/dev/null)"
fi
SSHD_BIN=
for b in /usr/sbin/sshd /usr/local/sbin/sshd /sbin/sshd /usr/bin/sshd; do
  rp "$b" && [ -f "$R$RP" ] && { SSHD_BIN=$b; SSHD_REAL=$RP; break; }
done
if [ -n "$SSHD_BIN" ]; then
  rec sshd_version "$SSHD_BIN" "$(grep -a -o 'OpenSSH_[0-9][0-9.]*p[0-9]*' "$R$SSHD_REAL" 2>/dev/null | head -n 1)"
fi

# ---- files read whole --------------------------------------------------------------
for p in /etc/os-release /usr/lib/os-release /etc/hostname /etc/passwd /etc/machine-id \
  /var/lib/dbus/machine-id /etc/rc.local /etc/rc.d/rc.local /etc/sudoers \
  /var/lib/update-notifier/updates-available /etc/cloud/cloud.cfg; do
  dumpf sys "$p"
done
for d in /etc/sudoers.d /etc/cloud/cloud.cfg.d; do
  rp "$d" || continue
  dd=$RP
  for p in "$R$dd"/*; do
    [ -f "$p" ] && dumpf sys "$d/${p##*/}"
  done
done
rp /var/lib/dbus && [ -L "$R$RP/machine-id" ] && rec symlink /var/lib/dbus/machine-id

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
  # What this OpenSSH build supports (ssh and sshd come from the same sources): the
  # sshd-hardening fix names no algorithm outside these lists.
  if command -v ssh >/dev/null 2>&1; then
    for q in cipher mac kex; do
      rec sshq "$q" "$($TO ssh -Q "$q" 2>/dev/null)"
    done
  fi
fi

# ---- accounts: passwd is read whole; shadow is only classified, never sent ------------
PASSWD=/nonexistent
rp /etc/passwd && PASSWD=$R$RP
if rp /etc/shadow && [ -r "$R$RP" ]; then
  f shadow
  awk -F: "$ESC_AWK"'{
      p = $2; s = "usable"
      if (p == "") s = "empty"
      else if (p ~ /^[!*]/) s = "locked"
      scheme = ""
      if (p ~ /^[!]?\$[0-9a-z]+\$/) { q = p; sub(/^!/, "", q); split(q, a, "$"); scheme = a[2] }
      printf "%s %s %s\n", esc($1), s, esc(scheme)
    }' "$R$RP" 2>/dev/null | tr -d '\000'
  printf '\000'
  end
elif [ -e "$R$RP" ]; then
  note "shadow: /etc/shadow is not readable (not root?)"
fi

# Homes from /etc/passwd (a passwd field holds no newline), resolved inside ROOT. A home
# whose resolved path holds a newline is searched but does not make files readable as keys.
homes=$(awk -F: '$6 != "" && $6 != "/" { print $6 }' "$PASSWD" 2>/dev/null)
akhomes=
oldifs=$IFS
IFS=$NL
set -f
for h in $homes; do
  IFS=$oldifs
  if rp "$h"; then
    case $RP in / | *"$NL"*) ;; *) akhomes="$akhomes$NL$RP" ;; esac
  fi
  IFS=$NL
done
set +f
IFS=$oldifs

# ak_allowed RESOLVED: may a file sshd's AuthorizedKeysFile names be read and listed? Only
# under an account's home or /etc/ssh, never system files nor what looks like a private key.
ak_allowed() {
  case ${1##*/} in
    *.pub) ;;
    id_* | *_key | *.pem | *.key | *.p12 | *.pfx | *.ppk | shadow* | gshadow* | passwd* | group*) return 1 ;;
  esac
  case $1 in
    /etc/ssh/*) return 0 ;;
    /etc/* | /proc/* | /sys/* | /dev/* | /run/* | /boot/*) return 1 ;;
  esac
  _ok=1
  oldifs=$IFS
  IFS=$NL
  set -f
  for _h in $akhomes; do
    case $1 in "$_h"/*) _ok=0 ;; esac
  done
  set +f
  IFS=$oldifs
  return "$_ok"
}

# akfile USER PATH: one file an AuthorizedKeysFile pattern names for USER.
akfile() {
  rp "$2" || return 0
  [ -f "$R$RP" ] || return 0
  if ak_allowed "$RP"; then
    rec akfile "$1" "$RP"
    statlist authorized_keys "$RP"
    dump1 ak "$RP" "$RP"
  else
    rec akrefused "$1" "$2" "$RP"
  fi
}

# hostkey PATH: a host key file (never read) and its public half (read).
hostkey() {
  rp "$1" || return 0
  { [ -f "$R$RP" ] || [ -L "$R$RP" ]; } || return 0
  statlist hostkey "$RP"
  case $RP in *.pub) dump1 pub "$RP" "$RP" ;; esac
}

# ---- key files: where sshd's settings say, plus the usual places -------------------------
# Host keys and AuthorizedKeysFile patterns from the config files (any context, a superset),
# and from sshd -T when we have it.
keyconf=$(printf '%s\n' "$sshd_files" | while IFS= read -r p; do
  rp "$p" && [ -f "$R$RP" ] && awk '{ k = tolower($1); sub(/=$/, "", k)
      if (k == "hostkey" || k == "authorizedkeysfile") { $1 = ""; print k $0 } }' "$R$RP" 2>/dev/null
done)
if [ -n "$SSHD_T" ]; then
  keyconf="$keyconf$NL$(printf '%s\n' "$SSHD_T" | awk '$1 == "hostkey" || $1 == "authorizedkeysfile"')"
fi
keypaths=$(printf '%s\n' "$keyconf" | awk -v passwd="$PASSWD" '
  BEGIN { n = 0
    while ((getline line < passwd) > 0) {
      split(line, a, ":"); if (a[6] == "") continue
      n++; user[n] = a[1]; home[n] = a[6]; uid[n] = a[3] }
    ak["%h/.ssh/authorized_keys"] = 1; ak["%h/.ssh/authorized_keys2"] = 1 }
  $1 == "hostkey" { for (i = 2; i <= NF; i++) print "hk\t" $i }
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
      print "ak\t" user[j] "\t" out }
  }')
oldifs=$IFS
IFS=$NL
set -f
for line in $keypaths; do
  IFS=$oldifs
  case $line in
    "ak$TAB"*)
      rest=${line#ak"$TAB"}
      akfile "${rest%%"$TAB"*}" "${rest#*"$TAB"}"
      ;;
    "hk$TAB"*)
      hostkey "${line#hk"$TAB"}"
      hostkey "${line#hk"$TAB"}.pub"
      ;;
  esac
  IFS=$NL
done
set +f
IFS=$oldifs
if rp /etc/ssh; then
  sd=$RP
  for p in "$R$sd"/ssh_host_*key "$R$sd"/ssh_host_*key.pub; do
    { [ -e "$p" ] || [ -L "$p" ]; } && hostkey "/etc/ssh/${p##*/}"
  done
fi

# ---- histories and credentials in every home (from /etc/passwd) and the usual drop places --
# One walk, to the bottom, bounded by time (TMO) and by the number of files (MAXF), not by
# depth: the homes in passwd, every directory under /home (with or without an account), /root,
# the system's configuration and application places, /tmp and /var/tmp. It lists histories
# (h) and credential files by name (c), and reads every other regular file below MAXSIZE for
# secrets: `grep -I` (text files only) picks the few that hold a secret-looking string, then
# awk reports each secret by kind, line and only its first 4 characters.
set --
starts=
oldifs=$IFS
IFS=$NL
set -f
for h in /root$NL/home$NL/etc$NL/opt$NL/srv$NL/var/www$NL/var/lib/cloud$NL/usr/local/etc$NL/tmp$NL/var/tmp$NL$homes; do
  IFS=$oldifs
  # A home that is itself a symlink is not searched (it would list another place's files).
  if [ -n "$h" ] && rp "$h" && [ "$RP" != / ] && [ -d "$R$RP" ] && [ ! -L "$R$h" ]; then
    case $NL$starts$NL in
      *"$NL$RP$NL"*) ;;  # already a starting point (entries here hold no newline)
      *)
        _in=
        for _s in $starts; do
          case $RP in "$_s"/*) _in=1 ;; esac  # inside one already: walked with it
        done
        if [ -z "$_in" ]; then
          set -- "$@" "$R$RP"
          case $RP in *"$NL"*) ;; *) starts=$starts$NL$RP ;; esac
        fi
        ;;
    esac
  elif [ -n "$h" ] && ! rp "$h"; then
    note "resolve: $h: too many symbolic links, not searched"
  fi
  IFS=$NL
done
set +f
IFS=$oldifs
if [ $# -gt 0 ]; then
  # Trees of installed third-party code and caches: many files, no builder's secret, and test
  # keys that are not anyone's (a Python's test/keycert.pem).
  PRUNE="-type d ( -name node_modules -o -name .cache -o -name .git -o -name .npm -o -name .rustup -o -name .cargo -o -name proc
    -o -name .pyenv -o -name .nvm -o -name .m2 -o -name .gradle -o -name site-packages -o -name dist-packages
    -o -name __pycache__ ) -prune -o"
  set -f  # the patterns below are find's, not the shell's
  HISTORY_NAMES="( -name .*history -o -name .*_history* -o -name .*hist -o -name .histfile -o -name .lesshst
    -o -name .viminfo -o -name fish_history -o -name .zhistory -o -name .*_hist )"
  CREDENTIAL_NAMES="( -name pk-*.pem -o -name cert-*.pem -o -path */.aws/credentials -o -path */.aws/config
    -o -name id_rsa -o -name id_dsa -o -name id_ecdsa -o -name id_ed25519 -o -name id_*_sk
    -o -name .s3cfg -o -name .boto -o -name .netrc -o -name .git-credentials -o -name .pgpass
    -o -path */.docker/config.json -o -name *.ppk -o -name *.p12 -o -name *.pfx -o -name *.keytab
    -o -path */ipa/nssdb/key*.db -o -path */ipa/nssdb/pwdfile.txt )"
  # These and the credential names are read whatever they hold (no grep first): a .pgpass or
  # .netrc line has no keyword grep knows. Each file meets as few tests as it can: find's
  # name matching is most of the walk's time in a large tree.
  DIRECT_NAMES="( -name .my.cnf -o -name .npmrc -o -name .pypirc
    -o -path */.kube/config -o -name user-data* -o -name .profile -o -name .bashrc
    -o -name .bash_profile -o -name .zshrc -o -name .envrc -o -name .env -o -path */system-connections/* )"
  # grep's first pass (extended regex, any case): a superset of what SCAN_AWK reports. The
  # rules follow detect-secrets' plugins (tests/test_secret_rules.py compares them).
  export SCAN_PAT='BEGIN [A-Z0-9 ]*PRIVATE KEY|PuTTY-User-Key-File-|(A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}|gh[pousr]_[A-Za-z0-9_]{36}|github_pat_|(glpat|gldt|glft|glsoat|glrt|glcbt|glimt|glptt|glagent|gloas)-|GR1348941|xox[aboprs]-|(api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|priv_?key|private_?key|client_?key|client_?secret|key_?pass|pass|pwd|secret|token|_auth)[a-z0-9_]*[]"'"'"']*[ 	]*:?=|(api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|priv_?key|private_?key|client_?key|client_?secret|key_?pass|pass|pwd|secret|token|_auth)[a-z0-9_]*[]"'"'"']*:|://[^ 	/:@]+:[^ 	/@]+@|client-key-data|BEGIN CERTIFICATE|password[ 	]'
  # Secrets inside a file, one escaped line each: "path line kind prefix", and "M path N" for
  # the Nth file of the batch when it has a hit. READ_SH prints "F" per file read (the last
  # awk stops at MAXF files), then the hits, then "S N metadata" for each file with a hit.
  export SCAN_AWK="$ESC_AWK"'
      function rep(c, n,  s) { s = ""; while (n-- > 0) s = s c; return s }
      BEGIN {
        b64 = "[A-Za-z0-9/+]"; an = "[A-Za-z0-9_]"
        AKID = "(A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)" rep("[A-Z0-9]", 16)
        SK40 = "(^|[^A-Za-z0-9/+])" rep(b64, 40) "([^A-Za-z0-9/+=]|$)"
        GHT = "(ghp|gho|ghu|ghs|ghr)_" rep(an, 36)
        GHPAT = "github_pat_" rep(an, 22)
        GLT = "(glpat|gldt|glft|glsoat|glrt|glcbt|glimt|glptt|glagent|gloas)-" rep("[A-Za-z0-9_-]", 20)
        GLR = "GR1348941" rep("[A-Za-z0-9_-]", 20)
        K = "(api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|priv_?key|private_?key|client_?key|client_?secret|db_?pass|database_?pass|key_?pass|password|passwd|pwd|secret|token)[a-z0-9_]*"
        # NAME=VALUE anywhere; NAME: VALUE only as the key of a line (YAML, JSON, ini), not in prose.
        KW = K "[]\"'"'"']*[ \t]*:?="
        KWC = "^[ \t-]*[\"'"'"']?[a-z0-9_.-]*" K "[\"'"'"']?[ \t]*:"
        root = ENVIRON["R"]; hits = ""
        for (i = 1; i < ARGC; i++) at[ARGV[i]] = i
      }
      END { printf "\nI\t%s", hits }
      # The value after the end of the match at RSTART/RLENGTH of line: quotes and spaces off.
      function after(s,  v, q) {
        v = substr(s, RSTART + RLENGTH); sub(/^[ \t=:]+/, "", v); q = substr(v, 1, 1)
        if (q == "\"" || q == "'"'"'") {  # quoted: the whole string, and no space in a secret
          v = substr(v, 2); if (index(v, q)) v = substr(v, 1, index(v, q) - 1)
          return v ~ /[ \t]/ ? "" : v
        }
        sub(/[ \t"'"'"',;]+.*$/, "", v); return v
      }
      function plausible(v,  w) {
        w = tolower(v)
        if (length(v) < 6 || v ~ /[][$%{}<>()]/ || v ~ /^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_]/ || w ~ /^(true|false|yes|no|none|null|nil|required|optional|string|undefined|secret|password|passwd|example|dummy|redacted|placeholder)$/ || w ~ /^(pass|env|file|fd|stdin):/) return 0
        return 1
      }
      function hit(kind, s) {
        if (!shown) { print "M\t" esc(FILENAME) "\t" at[FILENAME]; hits = hits " " at[FILENAME]; shown = 1 }
        print esc(FILENAME) "\t" FNR "\t" kind "\t" esc(substr(s, 1, 4))
      }
      FNR == 1 {
        shown = 0; lastid = -100; inchp = 0; f = FILENAME
        netrc = f ~ /\/[._]netrc$/; pgpass = f ~ /\/\.pgpass$/
        docker = f ~ /\/\.docker\/config\.json$/; npmrc = f ~ /\/\.npmrc$/
        ud = index(f, root "/var/lib/cloud/") == 1 && f ~ /\/user-data[^\/]*$/
        unit = index(f, root "/etc/systemd/system/") == 1
        nm = index(f, root "/etc/NetworkManager/system-connections/") == 1; nmsec = 0
        # program code and scripts: only the formats above, no NAME=VALUE guesses
        code = f ~ /\.(py|pyc|rb|js|mjs|cjs|ts|go|java|kt|scala|c|h|cc|cpp|hpp|rs|php|pl|pm|lua|tcl|el|vim|html|htm|css|md|rst|bats)$/ || $0 ~ /^#!/
      }
      {
        line = $0; l = tolower(line)
        if (line ~ /BEGIN [A-Z0-9 ]*PRIVATE KEY/ || line ~ /^PuTTY-User-Key-File-/) hit("private-key", "----")
        if (line ~ /-----BEGIN CERTIFICATE-----/) hit("certificate", "----")
        if (line ~ /A3T|AKIA|ASIA|ABIA|ACCA/ && match(line, AKID)) { hit("aws-access-key-id", substr(line, RSTART, RLENGTH)); lastid = FNR }
        if ((l ~ /secret|aws.*key/ || FNR - lastid <= 5) && match(line, SK40)) {
          v = substr(line, RSTART, RLENGTH); sub(/^[^A-Za-z0-9\/+]/, "", v); hit("aws-secret-access-key", v) }
        else if (match(l, /(aws_secret_access_key|secretaccesskey|aws_secret_key)[\"'"'"']*[ \t]*[=:]/)) {
          v = after(line); if (v != "") hit("aws-secret-access-key", v) }
        if (match(l, /aws_session_token[\"'"'"']*[ \t]*[=:]/)) { v = after(line); if (v != "") hit("aws-session-token", v) }
        if (line ~ /gh[pousr]_|github_pat_/ && (match(line, GHT) || match(line, GHPAT))) hit("github-token", substr(line, RSTART, RLENGTH))
        if (line ~ /gl[a-z]+-|GR1348941/ && (match(line, GLT) || match(line, GLR))) hit("gitlab-token", substr(line, RSTART, RLENGTH))
        if (match(l, /xox[aboprs]-([0-9]+-)+[a-z0-9]+/)) hit("slack-token", substr(line, RSTART, RLENGTH))
        if (match(line, /:\/\/[^ \t\/:@]+:[^ \t\/@]+@/)) {
          v = substr(line, RSTART + 3, RLENGTH - 4); sub(/^[^:]*:/, "", v)
          if (v !~ /^[$%{<]/) hit("url-password", v) }
        if (match(l, /client-key-data[ \t]*:/)) { v = after(line); if (v != "") hit("kube-client-key", v) }
        if (npmrc && match(l, /_(authtoken|auth|password)[ \t]*=/)) { v = after(line); if (v != "") hit("npm-token", v) }
        else if (docker && match(l, /"auth"[ \t]*:/)) { v = after(line); if (v != "") hit("docker-auth", v) }
        else if (netrc && match(l, /(^|[ \t])password[ \t]+/)) { v = substr(line, RSTART + RLENGTH); sub(/[ \t].*$/, "", v); if (v != "") hit("netrc-password", v) }
        else if (pgpass && line !~ /^[ \t]*#/ && match(line, /^([^:]|\\:)*:([^:]|\\:)*:([^:]|\\:)*:([^:]|\\:)*:/)) {
          v = substr(line, RLENGTH + 1); if (v != "" && v != "*") hit("pgpass-password", v) }
        else if (nm && line ~ /^[ \t]*\[/) nmsec = l ~ /^[ \t]*\[vpn-secrets\]/
        else if (nm && (nmsec ? match(l, /^[ \t]*[^=# \t][^=]*=[ \t]*/) : match(l, /^[ \t]*(psk|wep-key[0-3]|leap-password|password|private-key-password|phase2-private-key-password|pin|[a-z0-9_.-]*secret[a-z0-9_.-]*)[ \t]*=[ \t]*/))) {
          v = substr(line, RSTART + RLENGTH); if (v != "") hit("network-secret", v) }
        else if (unit && match(line, /^[ \t]*EnvironmentFile=-?/)) {
          v = substr(line, RLENGTH + 1); if (tolower(v) ~ /secret|token|passw|cred/) hit("environment-file", v) }
        else if (!code && line !~ /^[ \t]*[#;]/ && (match(l, KW) || match(l, KWC)) && l !~ /aws_secret_access_key|aws_session_token|secretaccesskey|aws_secret_key|client-key-data/) {
          v = after(line); if (plausible(v)) hit(unit ? "unit-environment" : "secret-value", v) }
        if (ud) {
          if (l ~ /^[ \t]*chpasswd[ \t]*:/) inchp = 1
          else if (line ~ /^[^ \t#-]/) inchp = 0
          else if (inchp && match(line, /^[ \t-]*[A-Za-z_][A-Za-z0-9_.-]*:[^ \t]/) && l !~ /^[ \t-]*(list|expire|users|type|name|password)[ \t]*:/) {
            v = substr(line, RSTART + RLENGTH - 1); hit("cloud-init-password", v) }
        }
      }'
  # One batch of files: "1" reads them all, "0" only those grep -I finds a candidate string in.
  # Whatever find gives on its output is the listing; secrets go to fd 3.
  SCAN_SH='exec >&3
    if [ "$0" = 0 ] && [ "$GREPZ" = 1 ]; then
      grep -I -l -Z -i -E -e "$SCAN_PAT" -- "$@" 2>/dev/null | xargs -0 -r sh -c "$READ_SH" 0
    else
      sh -c "$READ_SH" 0 "$@"
    fi
    exit 0'
  export READ_SH='for p do echo F; done
    out=$(awk "$SCAN_AWK" "$@" 2>/dev/null)
    nl="
"
    tab=$(printf "\t")
    body=${out%"${nl}I${tab}"*}
    idx=${out##*"${nl}I${tab}"}
    [ -z "$body" ] || printf "%s\n" "$body"
    [ "$idx" != "$out" ] && [ -n "$idx" ] || exit 0
    n=0
    for p do
      n=$((n + 1))
      case " $idx " in
        *" $n "*) s=$(stat -c "%s %a %u %g %Y %d %i" -- "$p" 2>/dev/null) && printf "S\t%s\t%s\n" "$n" "$s" ;;
      esac
    done'
  export R
  GREPZ=0
  if printf 'a\n' | grep -I -l -Z -i -E -e A >/dev/null 2>&1 && printf 'a\000' | xargs -0 -r true 2>/dev/null; then
    GREPZ=1
  fi
  export GREPZ
  # walk: the one find; histories and credential names print their metadata (to the listing).
  walk() {
    if [ "$FINDPRINTF" = 1 ]; then
      # shellcheck disable=SC2086
      $TO find "$@" -xdev $PRUNE -type f \( $HISTORY_NAMES -printf "h $PF" -o \
        $CREDENTIAL_NAMES -printf "c $PF" \( -size -"$MAXSIZE"c -exec sh -c "$SCAN_SH" 1 {} + -o -true \) -o \
        -size -"$MAXSIZE"c \( $DIRECT_NAMES -exec sh -c "$SCAN_SH" 1 {} + -o -exec sh -c "$SCAN_SH" 0 {} + \) \) 2>/dev/null
    else
      # shellcheck disable=SC2086
      $TO find "$@" -xdev $PRUNE -type f \( $HISTORY_NAMES -exec sh -c "$STAT_SH" h {} + -o \
        $CREDENTIAL_NAMES -exec sh -c "$STAT_SH" c {} + \( -size -"$MAXSIZE"c -exec sh -c "$SCAN_SH" 1 {} + -o -true \) -o \
        -size -"$MAXSIZE"c \( $DIRECT_NAMES -exec sh -c "$SCAN_SH" 1 {} + -o -exec sh -c "$SCAN_SH" 0 {} + \) \) 2>/dev/null
    fi
  }
  exec 4>&1
  f list files
  scan=$(
    {
      {
        walk "$@"
        rc=$?
        printf '\000rc=%s\000' "$rc"  # the NUL ends a field find was killed in
        printf 'rc\t%s\n' "$rc" >&3
      } | tr '\000\012' '\012\000' | head -n "$((2 * MAXF + 2))" | tr '\000\012' '\012\000' >&4
    } 3>&1 | awk -v max="$MAXF" '$0 == "F" { if (++n > max) { print "limit\t" max; exit } next } { print }' \
      | tr -d '\000'
  )
  end
  exec 4>&-
  f secrets
  printf '%s\000' "$scan"
  end
  set +f
fi

# ---- first boot: cloud-init, units, rc.local -------------------------------------------
ci=
for b in /usr/bin/cloud-init /usr/local/bin/cloud-init; do rp "$b" && [ -f "$R$RP" ] && ci=$b; done
ci_disabled=0
rp /etc/cloud/cloud-init.disabled && [ -e "$R$RP" ] && ci_disabled=1
ci_ver=
if rp /usr/lib; then
  for d in "$R$RP"/python3*/*-packages/cloudinit/version.py; do
    rp "/usr/lib${d#"$R$RP"}" && [ -f "$R$RP" ] || continue
    ci_ver=$(awk -F'"' '/^__VERSION__/ { print $2; exit }' "$R$RP" 2>/dev/null) && break
  done
fi
f cloudinit "$ci" "$ci_disabled" "$ci_ver"
if rp /var/lib/cloud; then
  cl=$RP
  for p in "$R$cl"/instances/* "$R$cl"/instance "$R$cl"/data/* "$R$cl"/sem/*; do
    { [ -e "$p" ] || [ -L "$p" ]; } && f "/var/lib/cloud${p#"$R$cl"}"
  done
fi
if rp /var/log; then
  for p in cloud-init.log cloud-init-output.log; do
    { [ -e "$R$RP/$p" ] || [ -L "$R$RP/$p" ]; } && f "/var/log/$p"
  done
fi
end

# First-boot units: by name, and any local unit whose commands touch keys or metadata.
for d in /etc/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
  rp "$d" || continue
  ud=$RP
  for p in "$R$ud"/*.service; do
    n=${p##*/}
    rp "$d/$n" && [ -f "$R$RP" ] || continue
    case $n in
      *ssh*|*keygen*|*ami-wizard*|*launch-key*|*firstboot*|*first-boot*|cloud-init*.service|ec2*|*imds*)
        dump1 unit "$d/$n" "$RP" ;;
      *)
        [ "$d" = /etc/systemd/system ] &&
          grep -q -E 'ssh-keygen|meta-data|product-codes|openssh-key|chpasswd|usermod' -- "$R$RP" 2>/dev/null &&
          dump1 unit "$d/$n" "$RP" ;;
    esac
  done
done
if rp /etc/systemd/system; then
  ud=$RP
  for p in "$R$ud"/*.wants/*; do
    [ -L "$p" ] || [ -f "$p" ] || continue
    rec wants "/etc/systemd/system${p#"$R$ud"}"
  done
fi

# sshd_config and its includes (the list above holds no newline), and rc files.
oldifs=$IFS
IFS=$NL
set -f
for p in $sshd_files; do
  IFS=$oldifs
  dumpf sshd "$p"
  IFS=$NL
done
set +f
IFS=$oldifs

# ---- packages and AMI tools ------------------------------------------------------------
pm=
for c in apt-get:apt dnf:dnf yum:yum apk:apk zypper:zypper; do
  for b in "/usr/bin/${c%%:*}" "/sbin/${c%%:*}"; do
    rp "$b" && [ -x "$R$RP" ] && { pm=${c#*:}; break 2; }
  done
done
f pkg "$pm"
for p in /opt/aws/bin/ec2-bundle-vol /usr/bin/ec2-bundle-vol /usr/local/bin/ec2-bundle-vol \
  /opt/aws/amitools/ec2/bin/ec2-bundle-vol; do
  rp "$p" && [ -f "$R$RP" ] && f "$p"
done
end
# The AMI tools' package and version, read from the package database under ROOT (dpkg and apk
# keep text files; rpm's database is read by this machine's rpm with --root, which runs
# nothing from the image): one `pkgver NAME VERSION` per installed package.
AMI_PKGS="ec2-ami-tools aws-amitools-ec2"
if rp /var/lib/dpkg/status && [ -f "$R$RP" ]; then
  awk -v want=" $AMI_PKGS " '
    /^Package:/ { p = $2 } /^Status:/ { st = $NF } /^Version:/ { v = $2 }
    /^$/ { if (index(want, " " p " ") && st == "installed") print p, v; p = st = v = "" }
    END { if (index(want, " " p " ") && st == "installed") print p, v }' "$R$RP" 2>/dev/null |
    while read -r n v; do rec pkgver "$n" "$v"; done
fi
if rp /lib/apk/db/installed && [ -f "$R$RP" ]; then
  awk -v want=" $AMI_PKGS " '
    /^P:/ { p = substr($0, 3) } /^V:/ { v = substr($0, 3) }
    /^$/ { if (index(want, " " p " ")) print p, v; p = v = "" }
    END { if (index(want, " " p " ")) print p, v }' "$R$RP" 2>/dev/null |
    while read -r n v; do rec pkgver "$n" "$v"; done
fi
if { rp /var/lib/rpm && [ -d "$R$RP" ]; } || { rp /usr/lib/sysimage/rpm && [ -d "$R$RP" ]; }; then
  if command -v rpm >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    $TO rpm --root "${R:-/}" -q --qf '%{NAME} %{VERSION}-%{RELEASE}\n' $AMI_PKGS 2>/dev/null |
      while read -r n v; do
        case $v in *" "*) ;; ?*) rec pkgver "$n" "$v" ;; esac
      done
  else
    note "packages: the rpm database was not read (no rpm command here)"
  fi
fi
# Pending updates on a live system, from the package manager's local cache only (never a
# refresh: nothing here goes to the network), each bounded by the search timeout:
# `pkgupd MANAGER STATUS OUTPUT` and, where the manager knows advisories, `pkgsec ...`.
if [ "$LIVE" = 1 ]; then
  case $pm in
    apt)
      out=$($TO apt list --upgradable 2>/dev/null) && rc=0 || rc=$?
      rec pkgupd apt "$rc" "$out" ;;
    dnf | yum)
      out=$($TO "$pm" -q -C check-update 2>/dev/null) && rc=0 || rc=$?
      rec pkgupd "$pm" "$rc" "$out"
      if [ "$pm" = dnf ]; then
        out=$($TO dnf -q -C updateinfo list --security 2>/dev/null) && rc=0 || rc=$?
      else
        out=$($TO yum -q -C updateinfo list security 2>/dev/null) && rc=0 || rc=$?
      fi
      rec pkgsec "$pm" "$rc" "$out" ;;
    zypper)
      out=$($TO zypper --non-interactive --no-refresh list-updates 2>/dev/null) && rc=0 || rc=$?
      rec pkgupd zypper "$rc" "$out"
      out=$($TO zypper --non-interactive --no-refresh list-patches --category security 2>/dev/null) && rc=0 || rc=$?
      rec pkgsec zypper "$rc" "$out" ;;
    apk)
      out=$($TO apk version -l '<' 2>/dev/null) && rc=0 || rc=$?
      rec pkgupd apk "$rc" "$out" ;;
  esac
fi

# ---- privilege: the files sudoers includes, world-writable files in system paths ----------
# /etc/sudoers and /etc/sudoers.d/* are read whole above; here every other file their
# include lines name (#include/@include FILE, #includedir/@includedir DIR: in a directory
# sudo skips names with a "." or ending in "~") is read too, as `content sudoers`, down to 8
# levels and 128 files. Relative names are relative to the including file's directory; a
# name with sudo's %h escape is reported, not guessed.
SUDO_INC_AWK='
{ s = $0; sub(/^[ \t]+/, "", s)
  if (s !~ /^[#@]include(dir)?[ \t]/) next
  kw = s; sub(/[ \t].*/, "", kw); sub(/^[#@]/, "", kw)
  arg = s; sub(/^[#@]include(dir)?[ \t]+/, "", arg); sub(/[ \t\r]+$/, "", arg)
  if (arg ~ /^".*"$/) arg = substr(arg, 2, length(arg) - 2)
  print kw "\t" arg }'
sudo_seen=/etc/sudoers
if rp /etc/sudoers.d && [ -d "$R$RP" ]; then
  for p in "$R$RP"/*; do [ -f "$p" ] && sudo_seen="$sudo_seen$NL/etc/sudoers.d/${p##*/}"; done
fi
sudo_todo=$sudo_seen
sudo_level=0
sudo_n=0
while [ -n "$sudo_todo" ] && [ "$sudo_level" -lt 8 ]; do
  sudo_level=$((sudo_level + 1))
  sudo_inc=$(printf '%s\n' "$sudo_todo" | while IFS= read -r p; do
    rp "$p" && [ -f "$R$RP" ] || continue
    tr -d '\000' < "$R$RP" 2>/dev/null | awk "$SUDO_INC_AWK" 2>/dev/null | while IFS= read -r l; do
      a=${l#*"$TAB"}
      case $a in /*) ;; *) a=${p%/*}/$a ;; esac
      printf '%s\t%s\n' "${l%%"$TAB"*}" "$a"
    done
  done)
  sudo_todo=
  oldifs=$IFS
  IFS=$NL
  set -f
  for l in $sudo_inc; do
    IFS=$oldifs
    kw=${l%%"$TAB"*}
    a=${l#*"$TAB"}
    case $a in *%*) note "sudoers: include $a names the host (%h): not read"; IFS=$NL; continue ;; esac
    names=
    if [ "$kw" = includedir ]; then
      if rp "$a" && [ -d "$R$RP" ]; then
        set +f
        for q in "$R$RP"/*; do
          case ${q##*/} in *.* | *~) continue ;; esac
          [ -f "$q" ] && names="$names$NL$a/${q##*/}"
        done
        set -f
      fi
    else
      names=$a
    fi
    for q in $names; do
      [ -n "$q" ] || continue
      case "$NL$sudo_seen$NL" in *"$NL$q$NL"*) continue ;; esac
      if [ "$sudo_n" -ge 128 ]; then note "limit: sudoers include files beyond 128 were not read"; break; fi
      sudo_n=$((sudo_n + 1))
      sudo_seen="$sudo_seen$NL$q"
      sudo_todo="$sudo_todo$NL$q"
      dumpf sudoers "$q"
    done
    IFS=$NL
  done
  set +f
  IFS=$oldifs
done
# Accounts with a login shell whose home is not a directory inside ROOT: `nohome USER HOME`.
awk -F: '$1 !~ /^#/ && NF >= 7 && $7 !~ /(nologin|false)$/ && $7 != "" && $7 != "/bin/sync" { print $1 ":" $6 }' \
  "$PASSWD" 2>/dev/null | while IFS= read -r l; do
  h=${l#*:}
  if [ -z "$h" ] || ! rp "$h" || [ ! -d "$R$RP" ]; then rec nohome "${l%%:*}" "$h"; fi
done
# World-writable files and directories under the system paths (not followed into sticky
# directories such as /var/tmp, never symlinks, sockets or devices). Bounded like the home
# walk: by time (TMO) and by the number of files found (MAXF), never by depth.
set --
for d in /etc /usr /bin /sbin /lib /lib32 /lib64 /libx32 /opt /boot /var; do
  # A top directory that is a symlink (/bin -> usr/bin) is searched where it leads already.
  rp "$d" && [ -d "$R$RP" ] && [ ! -L "$R$d" ] && set -- "$@" "$R$RP"
done
if [ $# -gt 0 ]; then
  f list worldwritable
  {
    if [ "$FINDPRINTF" = 1 ]; then
      $TO find "$@" -xdev \( -type d -perm -1000 \) -prune -o -perm -0002 \( -type f -o -type d \) \
        -printf "w $PF" 2>/dev/null
    else
      $TO find "$@" -xdev \( -type d -perm -1000 \) -prune -o -perm -0002 \( -type f -o -type d \) \
        -exec sh -c "$STAT_SH" w {} + 2>/dev/null
    fi
    printf 'rc=%s\000' "$?"
  } | tr '\000\012' '\012\000' | head -n "$((2 * MAXF + 2))" | tr '\000\012' '\012\000'
  end
fi

# ---- system traces (checks/system_traces.py): what the build left behind -----------------
# Trees listed whole (every regular file but lock and pid files), a few names in /root, /etc
# and the login users' homes, and single files. Bounded by time (TMO) and count (MAXF), never
# by depth. On a live target a tree on tmpfs is left out (it is not part of the image) and the
# device:inode of every file a running process holds open is listed, so that the fix leaves
# them alone. Nothing here is read: the files are stat'ed only (/etc/shadow- included).
tr_walk() { # WHICH, then find's arguments: one `traces` record framed like listing's
  f traces "$1"
  shift
  {
    # shellcheck disable=SC2068
    $TO find "$@" 2>/dev/null
    printf 'rc=%s\000' "$?"
  } | tr '\000\012' '\012\000' | head -n "$((2 * MAXF + 2))" | tr '\000\012' '\012\000'
  end
}
set --
tr_seen=
for d in /var/log /tmp /var/tmp /var/crash /var/lib/systemd/coredump /var/spool/abrt \
  /var/cache/apt /var/cache/dnf /var/cache/yum /var/cache/zypp /var/cache/apk \
  /var/lib/amazon/ssm /var/mail /var/spool/mail /var/lib/dhcp /var/lib/dhclient \
  /var/lib/dhcpcd /var/lib/dhcpd /var/lib/NetworkManager /var/lib/systemd/netif/leases \
  /var/account /var/lib/rpm /var/lib/sss/db /var/lib/puppet /var/lib/dovecot /var/lib/samba \
  /etc/pki/consumer /etc/pki/entitlement /var/spool/cron /var/spool/at /var/spool/atjobs \
  /var/spool/atspool /var/cache/gdm /var/lib/fprint /var/cache/fontconfig /var/cache/man \
  /etc/ipa /var/lib/ipa-client /etc/NetworkManager/system-connections; do
  rp "$d" && [ "$RP" != / ] && [ -d "$R$RP" ] || continue
  case $NL$tr_seen$NL in *"$NL$RP$NL"*) continue ;; esac
  tr_seen=$tr_seen$NL$RP
  if [ "$LIVE" = 1 ] && [ "$(stat -f -c %T -- "$R$RP" 2>/dev/null)" = tmpfs ]; then
    rec traceskip "$d" "tmpfs, not part of the image"
    continue
  fi
  rec tracestart "$d" "$R$RP"
  set -- "$@" "$R$RP"
done
if [ $# -gt 0 ]; then
  set -f
  TR_PRUNE=
  # A running service's private /tmp belongs to it while it runs.
  [ "$LIVE" = 1 ] && TR_PRUNE="-name systemd-private-* -prune -o"
  if [ "$FINDPRINTF" = 1 ]; then
    # shellcheck disable=SC2086
    tr_walk trees "$@" -xdev $TR_PRUNE -type f ! -name lock ! -name *.lock ! -name *.pid ! -name .SEQ -printf "t $PF"
  else
    # shellcheck disable=SC2086
    tr_walk trees "$@" -xdev $TR_PRUNE -type f ! -name lock ! -name *.lock ! -name *.pid ! -name .SEQ \
      -exec sh -c "$STAT_SH" t {} +
  fi
  set +f
fi
set --
tr_seen=
tr_homes=$(awk -F: '($3 == 0 || ($3 >= 1000 && $3 < 65534)) && $6 != "" && $6 != "/" { print $6 }' \
  "$PASSWD" 2>/dev/null)
oldifs=$IFS
IFS=$NL
set -f
for h in /root$NL/etc$NL/srv$NL/var/backups$NL$tr_homes; do
  IFS=$oldifs
  if [ -n "$h" ] && rp "$h" && [ "$RP" != / ] && [ -d "$R$RP" ] && [ ! -L "$R$h" ]; then
    case $NL$tr_seen$NL in
      *"$NL$RP$NL"*) ;;
      *) tr_seen=$tr_seen$NL$RP; set -- "$@" "$R$RP" ;;
    esac
  fi
  IFS=$NL
done
IFS=$oldifs
if [ $# -gt 0 ]; then
  TR_PRUNE="( -name node_modules -o -name .cache -o -name .git -o -name .npm -o -name .rustup -o -name .cargo -o -name proc ) -prune -o"
  TR_NAMES="( -name known_hosts -o -name known_hosts.old -o -name .*.sw[a-p] -o -name *~ -o -name *.bak
    -o -name core -o -name core.[0-9]* )"
  if [ "$FINDPRINTF" = 1 ]; then
    # shellcheck disable=SC2086
    tr_walk names "$@" -xdev $TR_PRUNE -type f $TR_NAMES -printf "n $PF"
  else
    # shellcheck disable=SC2086
    tr_walk names "$@" -xdev $TR_PRUNE -type f $TR_NAMES -exec sh -c "$STAT_SH" n {} +
  fi
fi
set +f
# Single files: the directory is resolved, the file itself never followed (a backup that is a
# symlink to /etc/shadow is not a backup).
f tracefiles
for p in /etc/passwd- /etc/group- /etc/shadow- /etc/gshadow- /etc/subuid- /etc/subgid- \
  /etc/udev/rules.d/70-persistent-net.rules /var/lib/systemd/random-seed /var/lib/random-seed \
  /var/lib/urandom/random-seed /core /root/anaconda-ks.cfg /root/original-ks.cfg \
  /root/initial-setup-ks.cfg /root/anaconda-post.log /root/install.log /root/install.log.syslog \
  /var/lib/logrotate.status /var/lib/logrotate/status /var/lib/rsyslog/imjournal.state \
  /var/lib/yum/uuid /etc/sysconfig/hw-uuid /etc/smolt/uuid /etc/smolt/hw-uuid \
  /etc/blkid/blkid.tab /etc/blkid/blkid.tab.old /etc/blkid.tab /etc/blkid.tab.old /etc/krb5.keytab \
  /etc/lvm/devices/system.devices /etc/sysconfig/rhn/systemid /etc/sysconfig/rhn/osad-auth.conf \
  /etc/.updated /var/.updated /etc/hostname /etc/aliases.db /etc/pki/ca-trust/source/anchors/ipa-ca.crt \
  /usr/local/share/ca-certificates/ipa-ca.crt /etc/pki/ca-trust/source/ipa.p11-kit; do
  rp "${p%/*}" || continue
  tr_f=${RP%/}/${p##*/}
  [ -f "$R$tr_f" ] && [ ! -L "$R$tr_f" ] || continue
  s=$(stat -c '%s %a %u %g %Y %d %i' -- "$R$tr_f" 2>/dev/null) || continue
  f "$s" "$R$tr_f"
done
end
# Network settings pinned to the builder (the MAC address, the profile's UUID, the host name):
# `tracepin METADATA PATH =TEXT` for each ifcfg file, and /etc/sysconfig/network, that holds such
# a line, the whole text (small, no secret: keys live in keys-* files) so the fix can drop them.
if rp /etc/sysconfig; then
  tr_d=${RP%/}
  set +f
  for tr_f in "$R$tr_d"/network-scripts/ifcfg-* "$R$tr_d"/network; do
    [ -f "$tr_f" ] && [ ! -L "$tr_f" ] || continue
    grep -q -E '^[[:space:]]*(HWADDR|MACADDR|UUID|HOSTNAME|DHCP_HOSTNAME)=' -- "$tr_f" 2>/dev/null || continue
    s=$(stat -c '%s %a %u %g %Y %d %i' -- "$tr_f" 2>/dev/null) || continue
    f tracepin "$s" "$tr_f"
    printf '='
    head -c "$MAXSIZE" -- "$tr_f" 2>/dev/null | tr -d '\000'
    printf '\000'
    end
  done
fi
if [ "$LIVE" = 1 ] && [ -d /proc/self/fd ]; then
  f traceopen "$(id -u 2>/dev/null)"
  $TO find /proc/[0-9]*/fd -mindepth 1 -maxdepth 1 -exec stat -L -c '%d:%i' -- {} + 2>/dev/null \
    | sort -u | tr '\n' ' '
  printf '\000'
  end
fi

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
