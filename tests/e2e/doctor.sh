#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End to end, in the lab: `wsl-docker-agent doctor` run by the user
# concerned, for each finding it makes, with the real docker CLI beside it
# showing the trouble is real.  An ordinary user's login shell (Debian's
# PATH without /usr/sbin) runs doctor and status; a healthy setup exits 0;
# DOCKER_HOST (and the .bashrc line that sets it), contexts made by docker
# itself, a malformed config and context, an unreadable config, docker not
# in PATH; a user outside the docker group, and one added while a session
# runs; credential helpers: missing, and Windows ones while interop is
# absent (as in the lab), disabled or stale (a stand-in for the Windows
# side: binfmt_misc as seen in the distro); a plugin shadowing Docker
# Desktop's, a dangling one; a listener holding /run/docker.sock with the
# agent up and down; the agent stopped, Docker Desktop stopped (the shim's
# messages end by pointing to doctor); WSL 1.  Prints TAP.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

D=doc
AG=wsl-docker-agent
CLI=/mnt/wsl/docker-desktop/cli-tools
tmp=$(mktemp -d)
cleanup() {
	lab_down "$D"
	rm -rf "$tmp"
}
trap cleanup EXIT

agent_up "$D"

# doctor as USER with more environment: out (stdout and stderr), rc.
doc_as() { # USER [--env K=V]... [-- doctor args...]
	local user=$1; shift
	local -a envs=()
	while [ $# -gt 0 ] && [ "$1" = --env ]; do envs+=(--env "$2"); shift 2; done
	[ "${1:-}" = -- ] && shift
	out=$("$LAB" exec "$D" --user "$user" "${envs[@]}" -- $AG doctor "$@" 2>&1); rc=$?
}
doc() { doc_as dev "$@"; }
# The finding lines' ids, sorted, one line.
ids() { printf '%s\n' "$out" | sed -n 's/^\([a-z0-9-]*\): .*\. Fix: .*\.$/\1/p' | sort | tr '\n' ' ' | sed 's/ $//'; }
# "RC IDS OUTPUT", the output on one line: for a regex over all of it.
res() { printf '%s %s %s' "$rc" "$(ids)" "$(printf '%s' "$out" | tr '\n' ' ')"; }
put_as_dev() { dx "$D" sh -c "cat >'$1' && chown dev: '$1'"; }
# Healthy again: the previous test's leftovers gone, the agent answering.
healthy() { doc; [ "$rc" -eq 0 ]; }

# ---- any user, as typed, with Debian's PATH ------------------------------
out=$(dxu "$D" bash -lc 'echo "PATH=$PATH"; command -v wsl-docker-agent; wsl-docker-agent status; wsl-docker-agent doctor' 2>&1); rc=$?
path=$(printf '%s\n' "$out" | sed -n 's/^PATH=//p')
unlike "dev's login shell has Debian's PATH for ordinary users, without /usr/sbin" "$path" "(^|:)/usr/sbin(:|$)"
is "...where wsl-docker-agent is /usr/bin/wsl-docker-agent" "$(printf '%s\n' "$out" | sed -n 2p)" /usr/bin/wsl-docker-agent
like "...status runs there and says healthy" "$out" "in distro $D: healthy"
like "...doctor runs there and finds nothing (exit 0)" "$rc $(printf '%s\n' "$out" | tail -n 1)" \
	"^0 wsl-docker-agent doctor: dev in distro $D: nothing found that keeps docker from working \(engine $ENGINE_VERSION_RE"
is "/usr/sbin/wsl-docker-agent is a link to it" "$(dx "$D" readlink /usr/sbin/wsl-docker-agent)" ../bin/wsl-docker-agent
doc -- --json
like "doctor --json, healthy: no findings, ok, exit status 0" "$rc $(printf '%s' "$out" | tr -d ' \n')" \
	'^0 .*"findings":\[\],"summary":\{"findings":0,"left_out":0,"ok":true,"exit_status":0'
out=$(dx "$D" $AG doctor 2>&1); rc=$?
like "doctor as root, healthy: exit 0" "$rc $out" "^0 wsl-docker-agent doctor: root in distro $D: nothing found"

# ---- DOCKER_HOST -----------------------------------------------------------
dx "$D" sh -c 'echo "export DOCKER_HOST=tcp://127.0.0.1:2375" >>/home/dev/.bashrc'
line=$(dx "$D" grep -n DOCKER_HOST /home/dev/.bashrc | cut -d: -f1)
like "with DOCKER_HOST=tcp://127.0.0.1:2375, docker itself fails" \
	"$("$LAB" exec "$D" --user dev --env DOCKER_HOST=tcp://127.0.0.1:2375 -- docker version 2>&1)" \
	"Cannot connect to the Docker daemon at tcp://127.0.0.1:2375"
doc --env DOCKER_HOST=tcp://127.0.0.1:2375
is "doctor: exit 2" "$rc" 2
is "...one finding, docker-host" "$(ids)" docker-host
like "...naming the variable, its value, and the .bashrc line that sets it" "$out" \
	"docker-host: DOCKER_HOST is \"tcp://127.0.0.1:2375\": docker talks to that, not to the agent's /run/docker.sock\. Fix: remove the line that sets it \(/home/dev/\.bashrc, line $line\), and run 'unset DOCKER_HOST'"
dx "$D" sed -i '/DOCKER_HOST/d' /home/dev/.bashrc
doc --env DOCKER_HOST=unix:///var/run/docker.sock
is "DOCKER_HOST=unix:///var/run/docker.sock is the agent's socket (/var/run is /run): exit 0" "$rc" 0

# ---- contexts, as docker itself makes them ---------------------------------
dxu "$D" docker context create remote --docker host=tcp://127.0.0.1:2375 >/dev/null 2>&1
dxu "$D" docker context use remote >/dev/null 2>&1
like "docker context use remote: docker itself now fails" "$(dxu "$D" docker version 2>&1)" "127\.0\.0\.1:2375"
doc
is "doctor: the current context points elsewhere: exit 2, docker-context" "$rc $(ids)" "2 docker-context"
like "...naming the config, the context and its endpoint" "$out" \
	"currentContext in /home/dev/\.docker/config\.json selects the docker context \"remote\", which points at tcp://127\.0\.0\.1:2375.*Fix: run 'docker context use default'"
doc --env DOCKER_CONTEXT=default
is "DOCKER_CONTEXT=default overrides it: exit 0" "$rc" 0
doc --env DOCKER_CONTEXT=nosuch
like "DOCKER_CONTEXT naming no context: docker-context, 'does not exist'" "$(res)" \
	"^2 docker-context .*docker-context: DOCKER_CONTEXT selects the docker context \"nosuch\", which does not exist .*Fix: run 'unset DOCKER_CONTEXT'"
dxu "$D" docker context create here --docker host=unix:///run/docker.sock >/dev/null 2>&1
doc --env DOCKER_CONTEXT=here
is "a context whose endpoint is the agent's socket: exit 0" "$rc" 0
dxu "$D" docker context use default >/dev/null 2>&1
check "docker context use default: healthy again (exit 0)" healthy
# A damaged context: its meta.json, where docker keeps it.
meta=$(dx "$D" sh -c "grep -l '\"remote\"' /home/dev/.docker/contexts/meta/*/meta.json")
is "docker keeps the context at contexts/meta/<sha256 of its name>/meta.json" \
	"$meta" "/home/dev/.docker/contexts/meta/$(printf remote | sha256sum | cut -d' ' -f1)/meta.json"
dx "$D" sh -c "printf '{\"Name\":\"remote\",\"Endpoints\":{\"docker\":{\"Host\":' >'$meta'"
doc --env DOCKER_CONTEXT=remote
like "a damaged context: docker-config-invalid, naming the file, never a crash" "$(res)" \
	"^2 docker-config-invalid .*the docker context \"remote\" is damaged: $meta:1:"
dx "$D" rm -rf /home/dev/.docker/contexts /home/dev/.docker/config.json

# ---- the docker configuration itself -----------------------------------------
printf '{\n  "credsStore": "desktop.exe",\n}\n' | put_as_dev /home/dev/.docker/config.json
doc
is "a malformed config.json: exit 2, docker-config-invalid" "$rc $(ids)" "2 docker-config-invalid"
like "...naming the file, line and column" "$out" \
	"docker cannot read its configuration: /home/dev/\.docker/config\.json:3:[0-9]+: not valid JSON"
dx "$D" sh -c 'echo "{}" >/home/dev/.docker/config.json && chown root: /home/dev/.docker/config.json && chmod 600 /home/dev/.docker/config.json'
# (docker 20.10 warns that it cannot load it; 26.1 says nothing and goes
# on without it.)
like "a config.json made root's (a 'sudo docker'): dev cannot read it" \
	"$(dxu "$D" cat /home/dev/.docker/config.json 2>&1)" "Permission denied"
doc
is "...doctor: docker-config-unreadable" "$rc $(ids)" "2 docker-config-unreadable"
like "...with the chown that gives it back" "$out" "belongs to uid 0.*Fix: give it back to yourself: sudo chown -R dev: /home/dev/\.docker"
dx "$D" rm -f /home/dev/.docker/config.json
doc --env PATH=/usr/bin:/bin
is "docker not in PATH: docker-not-found" "$rc $(ids)" "2 docker-not-found"
like "...saying to add /usr/local/bin, where the agent's link is" "$out" "Fix: add /usr/local/bin to your PATH"
# What another user keeps is read with dev's rights: not at all.
dx "$D" sh -c 'useradd -m -s /bin/bash eve && mkdir -p /home/eve/.docker && echo "{\"auths\":{\"secret.example\":{\"auth\":\"ZXZlOnNlY3JldA==\"}}}" >/home/eve/.docker/config.json && chown -R eve: /home/eve && chmod 700 /home/eve'
doc --env DOCKER_CONFIG=/home/eve/.docker
like "DOCKER_CONFIG naming another user's directory: unreadable with dev's rights" "$(res)" \
	"^2 docker-config-unreadable .*docker-config-unreadable: /home/eve/\.docker/config\.json cannot be read: Permission denied"
unlike "...and nothing of it is shown" "$out" "secret|ZXZl"

# ---- the docker group ----------------------------------------------------------
like "eve, in no docker group: docker says permission denied" \
	"$("$LAB" exec "$D" --user eve -- docker version 2>&1)" "permission denied"
doc_as eve
is "...doctor as eve: exit 2, docker-group" "$rc $(ids)" "2 docker-group"
like "...with the usermod line" "$out" "you \(eve\) are not in the group docker.*Fix: sudo usermod -aG docker eve, then log in again \(from Windows: wsl\.exe --terminate $D"
# A session that began before eve was added: its groups are the old ones.
"$LAB" exec "$D" --user eve -- sh -c 'touch /tmp/eve-started; n=0; while [ ! -e /tmp/eve-go ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n + 1)); done; exec wsl-docker-agent doctor' >"$tmp/session" 2>&1 &
spid=$!
wait_until 30 dx "$D" test -e /tmp/eve-started
dx "$D" usermod -aG docker eve
dx "$D" touch /tmp/eve-go
wait "$spid"; rc=$?
out=$(cat "$tmp/session")
is "eve added while a session runs: doctor in that session: exit 2, docker-group-session" "$rc $(ids)" "2 docker-group-session"
like "...saying newgrp, or log in again (wsl --terminate)" "$out" \
	"you \(eve\) are in the group docker, but this session began before you were added.*Fix: run 'newgrp docker' in this shell, or log in again.*wsl\.exe --terminate $D"
doc_as eve
is "...a new login has the group: exit 0" "$rc" 0
like "...and docker works for eve" "$("$LAB" exec "$D" --user eve -- docker version --format '{{.Server.Version}}' 2>&1)" "^$ENGINE_VERSION_RE"

# ---- credential helpers --------------------------------------------------------
printf '{"credsStore": "desktop.exe"}\n' | put_as_dev /home/dev/.docker/config.json
doc
is "credsStore desktop.exe, Docker Desktop's helper linked (the lab's runs here): exit 0" "$rc" 0
printf '{"credsStore": "nosuch"}\n' | put_as_dev /home/dev/.docker/config.json
doc
like "a helper not in PATH: credential-helper" "$(res)" \
	"^2 credential-helper .*credsStore in /home/dev/\.docker/config\.json is \"nosuch\": docker runs docker-credential-nosuch for credentials, and it is not in your PATH"
# A Windows program (a PE header) as the helper, as Docker Desktop's is.
dx "$D" sh -c 'printf "MZ\220\000\003\000\000\000" >/usr/local/bin/docker-credential-winlab.exe && chmod 755 /usr/local/bin/docker-credential-winlab.exe'
printf '{"auths": {}, "credHelpers": {"registry.example": "winlab.exe"}}\n' | put_as_dev /home/dev/.docker/config.json
is "the lab has no WSL interop: no binfmt_misc WSLInterop in the distro" \
	"$(dx "$D" sh -c 'test -e /proc/sys/fs/binfmt_misc/WSLInterop && echo there || echo absent')" absent
doc
is "a Windows helper without interop: exit 2, credential-helper-interop" "$rc $(ids)" "2 credential-helper-interop"
like "...naming the entry and both ways out" "$out" \
	"credHelpers \"registry\.example\" in /home/dev/\.docker/config\.json is \"winlab\.exe\": docker runs docker-credential-winlab\.exe, a Windows program, and WSL interop is off here.*Fix: turn interop on \(\[interop\] enabled=true in /etc/wsl\.conf.*wsl\.exe --terminate $D\), or remove \"registry\.example\" from credHelpers"
# binfmt_misc as WSL shows it, in the distro's own mount namespace: a
# stand-in for the Windows side (the machine's binfmt_misc is untouched).
if dx "$D" sh -c 'mount -t tmpfs -o mode=0755 wda-binfmt /proc/sys/fs/binfmt_misc &&
	printf "enabled\ninterpreter /init\nflags: PF\noffset 0\nmagic 4d5a\n" >/proc/sys/fs/binfmt_misc/WSLInterop'; then
	doc --env WSL_INTEROP=/run/WSL/999_interop
	like "interop on, but WSL_INTEROP stale (tmux): credential-helper-interop, saying how to refresh it" "$(res)" \
		"^2 credential-helper-interop .*WSL_INTEROP \(/run/WSL/999_interop\) is stale.*Fix: run docker from a new WSL shell, or export WSL_INTEROP="
	dx "$D" sh -c 'mkdir -p /run/WSL && rm -f /run/WSL/8_interop'
	ipid=$(dx "$D" sh -c 'socat UNIX-LISTEN:/run/WSL/8_interop,fork,mode=666 /dev/null >/dev/null 2>&1 & echo $!')
	wait_until 10 dx "$D" test -S /run/WSL/8_interop
	doc --env WSL_INTEROP=/run/WSL/8_interop
	is "interop on, WSL_INTEROP live: exit 0" "$rc" 0
	dx "$D" kill "$ipid"
	dx "$D" sh -c 'printf "disabled\ninterpreter /init\n" >/proc/sys/fs/binfmt_misc/WSLInterop'
	doc
	like "interop disabled: credential-helper-interop" "$(res)" "^2 credential-helper-interop .*WSL interop is off here"
	dx "$D" umount /proc/sys/fs/binfmt_misc
else
	not_ok "a binfmt_misc stand-in in the distro's mount namespace"
fi
dx "$D" rm -f /home/dev/.docker/config.json /usr/local/bin/docker-credential-winlab.exe
check "helpers gone: healthy again" healthy

# ---- CLI plugins -----------------------------------------------------------------
dx "$D" sh -c 'mkdir -p /home/dev/.docker/cli-plugins && chown -R dev: /home/dev/.docker'
put_as_dev /home/dev/.docker/cli-plugins/docker-hello <<'EOF'
#!/bin/sh
if [ "${1-}" = docker-cli-plugin-metadata ]; then
	echo '{"SchemaVersion":"0.1.0","Vendor":"me","Version":"1.0"}'
	exit 0
fi
echo mine
EOF
dx "$D" chmod 755 /home/dev/.docker/cli-plugins/docker-hello
is "a docker-hello of dev's own: docker runs it, not Docker Desktop's" "$(dxu "$D" docker hello 2>&1)" mine
doc
is "...doctor: exit 2, cli-plugin-shadow" "$rc $(ids)" "2 cli-plugin-shadow"
like "...naming both files" "$out" \
	"/home/dev/\.docker/cli-plugins/docker-hello shadows Docker Desktop's docker-hello \(/usr/local/lib/docker/cli-plugins/docker-hello\).*Fix: remove or rename it"
dx "$D" sh -c "ln -sf $CLI/usr/lib/docker/cli-plugins/docker-hello /home/dev/.docker/cli-plugins/docker-hello"
doc
is "a link to Docker Desktop's own plugin shadows nothing: exit 0" "$rc" 0
dx "$D" sh -c 'ln -s /mnt/wsl/docker-desktop/cli-tools/usr/lib/docker/cli-plugins/docker-gone /home/dev/.docker/cli-plugins/docker-gone'
doc
like "a dangling plugin link: cli-plugin-dangling" "$(res)" \
	"^2 cli-plugin-dangling .*docker-gone is a link to .*docker-gone, which does not exist.*Fix: remove it: rm /home/dev/\.docker/cli-plugins/docker-gone"
dx "$D" rm -rf /home/dev/.docker/cli-plugins

# ---- a local engine on /run/docker.sock ------------------------------------------
dx "$D" $AG stop >/dev/null
doc
like "the agent stopped: agent-not-running, with how to start it" "$(res)" \
	"^2 agent-not-running .*Fix: start it: sudo wsl-docker-agent start; to start it with the distro: sudo wsl-docker-agent-wslconf enable"
out=$(dxu "$D" docker ps 2>&1); rc=$?
like "...and docker, the shim now, ends its message pointing to doctor" "$rc $(printf '%s' "$out" | tr '\n' ' ')" \
	"^76 .*service is not running.*To check the rest of your setup, run 'wsl-docker-agent doctor'\. ?$"
fpid=$(dx "$D" sh -c 'socat UNIX-LISTEN:/run/docker.sock,fork,mode=666 /dev/null >/dev/null 2>&1 & echo $!')
wait_until 10 dx "$D" test -S /run/docker.sock
doc
like "a listener on /run/docker.sock, the agent down: local-engine names it" "$(res)" \
	"^2 agent-not-running local-engine .*local-engine: /run/docker.sock is served by socat \(pid $fpid\), not by the agent.*Fix: choose one engine"
dx "$D" $AG start >/dev/null
doc
like "...the agent up beside it, refusing the path: local-engine, from the agent's status" "$(res)" \
	"^2 local-engine .*local-engine: /run/docker.sock is served by socat \(pid $fpid\).*sudo systemctl disable --now docker\.service docker\.socket"
unlike "...said once (the agent's own problem about it is not repeated)" "$out" "agent-problem: /run/docker.sock"
dx "$D" kill "$fpid"
dx "$D" sh -c "while kill -0 $fpid 2>/dev/null; do sleep 0.02; done; rm -f /run/docker.sock"
dx "$D" $AG reconcile >/dev/null
check "the listener gone and reconciled: healthy again" healthy

# ---- what the agent reports: Docker Desktop stopped ----------------------------------
"$LAB" desktop-stop >/dev/null 2>&1
wait_until 10 sh -c "$LAB exec $D -- $AG status >/dev/null 2>&1; [ \$? -eq 1 ]"
doc
like "Docker Desktop stopped: the agent's problem, with its fix" "$(res)" \
	"^2 agent-problem .*agent-problem: Docker Desktop's (tree is not at /mnt/wsl/docker-desktop|CLI tools are not mounted).*Fix: (start|wait for) Docker Desktop"
out=$(dxu "$D" docker ps 2>&1); rc=$?
like "...and the shim's message ends pointing to doctor" "$rc $(printf '%s' "$out" | tr '\n' ' ')" \
	"^69 docker: Docker Desktop is not running.*To check the rest of your setup, run 'wsl-docker-agent doctor'\. ?$"
"$LAB" desktop-start >/dev/null 2>&1
if wait_until 20 healthy; then ok "Docker Desktop back: healthy again"; else not_ok "Docker Desktop back: healthy again" "$out"; fi

# ---- WSL 1 -------------------------------------------------------------------------
# What WSL 1 shows in /proc/version, over the distro's own (its mount namespace).
dx "$D" sh -c 'echo "Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com) (gcc version 5.4.0 (GCC) ) #1237-Microsoft Sat Sep 11 14:32:00 PST 2021" >/run/wsl1-version && mount --bind /run/wsl1-version /proc/version'
doc
like "WSL 1: the wsl1 finding, first, with wsl.exe --set-version" "$rc $(printf '%s\n' "$out" | sed -n 2p)" \
	"^2 wsl1: this distro runs under WSL 1 \(Linux version 4\.4\.0-19041-Microsoft.*Fix: from Windows, run 'wsl\.exe --set-version $D 2'"
dx "$D" umount /proc/version
check "WSL 2 again: healthy" healthy

done_testing
