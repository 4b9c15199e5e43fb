#!/bin/bash
# The course's JupyterHub on this machine (as root): `hub/hub.sh start N` (make hub STUDENTS=N), `hub/hub.sh stop`
# (make hub-stop), `hub/hub.sh autograde` (make hub-autograde: the collected submissions, in the sandbox). start
# creates what the hub needs and records it; stop removes exactly that, the servers' cgroups too: the machine is
# left as it was. hub/jupyterhub_config.py says how the hub is set up; docs/hub.md why.
#
# - accounts: instructor, ta, student1..N (PAM logins, passwords in $STATE/private/passwords, root only) and
#   grader-<course> (the course's home, no login); homes mode 0700;
# - $STATE/venv: the environment every account runs (Debian's python3.11, readable by all): the students'
#   hand-out requirements with the course's wheel (make handout: the same for every assignment), jupyterhub;
#   $STATE/node_modules: the proxy;
# - the course in ~grader-<course>/<course>: source/ (every assignment generated, for formgrader to release), the
#   course's nbgrader_config.py and grading/, its gradebook;
# - the exchange $STATE/exchange (1777) with the course's inbound (2733) and outbound, owned by the grader
#   before any student can log in (no one else can claim the course's folder);
# - MNIST extracted in $STATE/data (read-only for everyone).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
STATE=${HUB_STATE:-/srv/gan-hub}
COURSE=gan-mnist-lab
ASSIGNMENT=${ASSIGNMENT:-gan_mnist}  # the hand-out whose environment the hub installs; the one autograde grades
GRADER=grader-$COURSE
PORT=${HUB_PORT:-8000}
PYTHON=${HUB_PYTHON:-/usr/bin/python3.11}
PROXY_VERSION=5.3.0

die() { echo "hub: $*" >&2; exit 1; }
as_grader() {  # run a command as the course's account, with the hub's environment
    runuser -u "$GRADER" -- env HOME="/home/$GRADER" PATH="$STATE/venv/bin:/usr/bin:/bin" PYTHONPATH="/home/$GRADER/tools" \
        JUPYTER_CONFIG_PATH="$STATE/etc/grader:$STATE/etc/common" "$@"
}
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_config() {  # Jupyter's configuration by role: what each kind of account sees
    local etc=$STATE/etc
    # every kernel of the hub's environment loads the note on the server's limits (hub/gan_hub_limits.py)
    install -m 644 "$REPO/hub/gan_hub_limits.py" "$("$STATE/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/"
    install -d -m 755 "$STATE/venv/etc/ipython"
    echo 'c.InteractiveShellApp.extensions = ["gan_hub_limits"]' > "$STATE/venv/etc/ipython/ipython_kernel_config.py"
    install -d -m 755 "$etc"/{common,student,staff,grader} "$etc"/{student,staff,grader}/labconfig
    cat > "$etc/common/nbgrader_config.py" <<EOF
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "$COURSE"
c.Exchange.root = "$STATE/exchange"
# a submission without the assignment's notebook (renamed, deleted) is refused in the Assignment List with
# nbgrader's message, before the deadline rather than in the grading report after it
c.ExchangeSubmit.strict = True
EOF
    # Validate's settings, as in the students' hand-out (grading/handout.py)
    "$PYTHON" -c 'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())' \
        "$REPO/dist/$ASSIGNMENT-student.zip" "$ASSIGNMENT/nbgrader_config.py" | grep -v get_config >> "$etc/common/nbgrader_config.py"
    cat > "$etc/grader/nbgrader_config.py" <<EOF
c = get_config()  # noqa: F821
c.CourseDirectory.root = "/home/$GRADER/$COURSE"  # formgrader then loads the course's own nbgrader_config.py
EOF
    # server extensions and lab plugins off by role (nbgrader's table: students get the Assignment List
    # and Validate, staff also the Course List, the course's service formgrader and Create Assignment)
    local off_student='"nbgrader.server_extensions.formgrader": false, "nbgrader.server_extensions.course_list": false'
    echo "{\"ServerApp\": {\"jpserver_extensions\": {$off_student}}}" > "$etc/student/jupyter_server_config.json"
    echo '{"ServerApp": {"jpserver_extensions": {"nbgrader.server_extensions.formgrader": false}}}' \
        > "$etc/staff/jupyter_server_config.json"
    # the course's service: formgrader, and beside it the grade-by-question page (grading/by_question/)
    echo '{"ServerApp": {"jpserver_extensions": {"nbgrader.server_extensions.assignment_list": false, "nbgrader.server_extensions.course_list": false, "grading.by_question": true}}}' \
        > "$etc/grader/jupyter_server_config.json"
    echo '{"disabledExtensions": {"@jupyter/nbgrader:formgrader": true, "@jupyter/nbgrader:course-list": true, "@jupyter/nbgrader:create-assignment": true}}' \
        > "$etc/student/labconfig/page_config.json"
    echo '{"disabledExtensions": {"@jupyter/nbgrader:formgrader": true, "@jupyter/nbgrader:create-assignment": true}}' \
        > "$etc/staff/labconfig/page_config.json"
    echo '{"disabledExtensions": {"@jupyter/nbgrader:assignment-list": true, "@jupyter/nbgrader:course-list": true}}' \
        > "$etc/grader/labconfig/page_config.json"
}

install_environment() {  # once, and again when the requirements change; kept by stop only with HUB_KEEP_ENV=1 (the tests)
    local wanted
    wanted=$(cat "$REPO/requirements.txt" "$REPO/hub/requirements.txt" | sha256sum)
    if [ "$(cat "$STATE/venv/.installed" 2>/dev/null)" != "$wanted" ]; then
        local handout=$REPO/dist/$ASSIGNMENT-student.zip unpacked
        [ -f "$handout" ] || die "$handout not found: make handout"
        unpacked=$(mktemp -d)
        (cd "$unpacked" && "$PYTHON" -m zipfile -e "$handout" .)
        "$PYTHON" -m venv "$STATE/venv"
        (cd "$unpacked/$ASSIGNMENT" && "$STATE/venv/bin/pip" install --quiet -r requirements.txt -r "$REPO/hub/requirements.txt")
        rm -rf "$unpacked"
        echo "$wanted" > "$STATE/venv/.installed"
    fi
    [ -x "$STATE/node_modules/.bin/configurable-http-proxy" ] ||
        npm install --silent --no-audit --no-fund --prefix "$STATE" "configurable-http-proxy@$PROXY_VERSION"
}

create_accounts() {
    local user
    : > "$STATE/private/passwords"
    for user in "$GRADER" instructor ta "${STUDENTS[@]}"; do
        if id "$user" >/dev/null 2>&1; then
            grep -qx "$user" "$STATE/private/accounts" 2>/dev/null || die "an account $user exists already and is not the hub's"
        else
            useradd --create-home -K HOME_MODE=0700 --shell /bin/bash "$user"
            echo "$user" >> "$STATE/private/accounts"
        fi
        [ "$user" = "$GRADER" ] && continue
        local password
        password=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(12))')
        echo "$user:$password" | chpasswd
        echo "$user $password" >> "$STATE/private/passwords"
    done
}

set_up_course() {
    local home=/home/$GRADER course=/home/$GRADER/$COURSE
    install -d -o "$GRADER" -g "$GRADER" -m 700 "$course"
    cp -r "$REPO/source" "$REPO/nbgrader_config.py" "$course/"
    rm -rf "$course"/source/*/results_quick  # make record's outputs: not the course's
    # the course's nbgrader steps for formgrader (feedback, sanitised views), beside the course; autograde runs
    # as root with the repository's environment and sandbox (hub.sh autograde)
    install -d -o "$GRADER" -g "$GRADER" -m 700 "$home/tools"
    cp -r "$REPO/grading" "$home/tools/"
    rm -rf "$home/tools/grading/__pycache__"
    chown -R "$GRADER:$GRADER" "$course" "$home/tools"
    local source
    for source in "$course"/source/*/; do
        (cd "$course" && as_grader nbgrader generate_assignment "$(basename "$source")" --log-level=WARN)
    done
    # the course's folders in the exchange, as nbgrader's release makes them, before any student can log in
    install -d -m 1777 "$STATE/exchange"
    install -d -o "$GRADER" -g "$GRADER" -m 755 "$STATE/exchange/$COURSE" "$STATE/exchange/$COURSE/outbound"
    install -d -o "$GRADER" -g "$GRADER" -m 2733 "$STATE/exchange/$COURSE/inbound"
    install -d -o "$GRADER" -g "$GRADER" -m 711 "$STATE/exchange/$COURSE/feedback"
}

start() {
    [ "$(id -u)" = 0 ] || die "run as root: it creates system accounts"
    local students=${1:-3}
    [ -f "$STATE/private/jupyterhub.pid" ] && kill -0 "$(cat "$STATE/private/jupyterhub.pid")" 2>/dev/null &&
        die "already running (make hub-stop)"
    for p in "$PORT" $((PORT + 1)) $((PORT + 2)) $((PORT + 3)); do port_free "$p" || die "port $p is in use (HUB_PORT=...)"; done
    STUDENTS=()
    for i in $(seq 1 "$students"); do STUDENTS+=("student$i"); done
    install -d -m 755 "$STATE"
    install -d -m 700 "$STATE/private"
    install_environment
    write_config
    install -d -m 755 "$STATE/data"
    cp -r "$REPO/data/MNIST" "$STATE/data/"
    "$STATE/venv/bin/python" -c "import helpers; helpers.mnist_root('$STATE/data', download_fallback=False)"
    chmod -R a+rX,go-w "$STATE/data"
    create_accounts
    set_up_course
    (cd "$STATE/private" && HUB_STATE=$STATE HUB_PORT=$PORT HUB_COURSE=$COURSE HUB_STUDENTS="${STUDENTS[*]}" \
        exec setsid "$STATE/venv/bin/jupyterhub" -f "$REPO/hub/jupyterhub_config.py") \
        > "$STATE/private/jupyterhub.log" 2>&1 < /dev/null &
    for _ in $(seq 1 120); do
        curl -sf "http://127.0.0.1:$PORT/hub/api/" >/dev/null && \
            curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/services/$COURSE/" | grep -q '^30[23]$' && break
        sleep 1
    done
    curl -sf "http://127.0.0.1:$PORT/hub/api/" >/dev/null || { tail -20 "$STATE/private/jupyterhub.log"; die "the hub did not start"; }
    echo "JupyterHub on http://127.0.0.1:$PORT/ (log: $STATE/private/jupyterhub.log); formgrader for instructor and ta:"
    echo "  http://127.0.0.1:$PORT/services/$COURSE/formgrader ; accounts and passwords: $STATE/private/passwords"
}

remove_cgroups() {  # what the spawner left of its servers' cgroups (hub/spawner.py: gan-hub-<user>), and their processes
    local cgroup
    while read -r cgroup; do
        for _ in $(seq 600); do
            rmdir "$cgroup" 2>/dev/null && break
            kill -KILL $(cat "$cgroup/cgroup.procs" 2>/dev/null) 2>/dev/null || true
            sleep 0.1
        done
    done < <(find /sys/fs/cgroup -mindepth 2 -maxdepth 6 -type d -name 'gan-hub-*' 2>/dev/null)
    rmdir /sys/fs/cgroup/gan-hub 2>/dev/null || true
}

stop() {
    [ "$(id -u)" = 0 ] || die "run as root"
    if [ -f "$STATE/private/jupyterhub.pid" ]; then
        local pid
        pid=$(cat "$STATE/private/jupyterhub.pid")
        kill -TERM "$pid" 2>/dev/null || true  # stops the users' servers, the service and the proxy
        for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    [ -f "$STATE/private/proxy.pid" ] && kill "$(cat "$STATE/private/proxy.pid")" 2>/dev/null || true
    local user left=()
    if [ -f "$STATE/private/accounts" ]; then
        while read -r user; do
            for _ in $(seq 1 50); do  # a killed process holds its account until it is reaped
                id "$user" >/dev/null 2>&1 || break
                pkill -KILL -u "$user" 2>/dev/null || true
                userdel --remove "$user" 2>/dev/null || sleep 0.2
            done
            if id "$user" >/dev/null 2>&1; then left+=("$user"); fi
        done < "$STATE/private/accounts"
    fi
    remove_cgroups
    # the list of the hub's accounts stays until they are gone, so that a second stop removes them
    [ ${#left[@]} = 0 ] || die "could not remove the accounts ${left[*]} (their processes did not end): run it again"
    if [ "${HUB_KEEP_ENV:-0}" = 1 ]; then
        find "$STATE" -mindepth 1 -maxdepth 1 ! -name venv ! -name node_modules -exec rm -rf {} +
    else
        rm -rf "$STATE"
    fi
    echo "hub stopped; its accounts and $STATE removed$([ "${HUB_KEEP_ENV:-0}" = 1 ] && echo " (but venv/ and node_modules/)")"
}

autograde() {  # the collected submissions, in the sandbox (it needs root), then the course's files back to the grader
    [ "$(id -u)" = 0 ] || die "run as root: the sandbox needs it"
    local status=0
    "$REPO/.venv/bin/python" -m grading.batch "$ASSIGNMENT" --root "/home/$GRADER/$COURSE" || status=$?
    chown -R "$GRADER:$GRADER" "/home/$GRADER/$COURSE"
    return $status
}

case "${1:-}" in
    start) start "${2:-3}" ;;
    stop) stop ;;
    autograde) autograde ;;
    *) die "usage: hub.sh start [students] | stop | autograde" ;;
esac
