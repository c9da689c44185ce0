#!/usr/bin/env bash
# A real Redmine for the ticketing tests (Debian 12's redmine 5.0 with
# sqlite3 and thin, on loopback only). Adapted from a recipe seen to work on
# these machines. Run as root.
#
#   scripts/redmine.sh install          install the packages (make test-deps)
#   scripts/redmine.sh start PORT KEY PROJECT
#                                       configure (REST API on, the admin's
#                                       API key KEY, a fresh project with the
#                                       identifier PROJECT, an "Alert
#                                       fingerprint" field) and serve on
#                                       127.0.0.1:PORT; prints the server's
#                                       PID when it is ready
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

bundler_version() { dpkg-query -W -f='${Version}' ruby-bundler | sed 's/-.*//'; }

case "${1:-}" in
install)
  if dpkg -s redmine redmine-sqlite thin >/dev/null 2>&1; then exit 0; fi
  echo ">> installing Redmine for the ticketing tests"
  apt-get update -q
  # Debian's bundler first: ruby3.1's built-in bundler 2.3.27 fails the
  # redmine postinst ("Could not find racc-1.6.2.gem").
  apt-get install -y -q --no-install-recommends ruby-bundler
  export BUNDLER_VERSION=$(bundler_version)
  debconf-set-selections <<'DEB'
redmine redmine/current-instances string default
redmine redmine/instances/default/dbconfig-install boolean true
redmine redmine/instances/default/database-type select sqlite3
redmine redmine/instances/default/default-language select en
DEB
  apt-get install -y -q --no-install-recommends redmine redmine-sqlite thin
  test -s /var/lib/redmine/Gemfile.lock || { cd /usr/share/redmine && bundle install --local --quiet; }
  ;;
start)
  port=${2:?port}
  key=${3:?api key}
  project=${4:?project identifier}
  log=${LOGFILE:-/tmp/nines-redmine-$port.log}
  cd /usr/share/redmine
  as_redmine=(setpriv --reuid=www-data --regid=www-data --init-groups
    env HOME=/var/lib/redmine BUNDLER_VERSION="$(bundler_version)" REDMINE_INSTANCE=default RAILS_ENV=production)
  "${as_redmine[@]}" KEY="$key" PROJECT="$project" bundle exec rails runner '
Setting.rest_api_enabled = "1"
Setting.login_required   = "1"
admin = User.find_by_login!("admin")
admin.must_change_passwd = false
admin.save!
admin.api_key
Token.where(user_id: admin.id, action: "api").update_all(value: ENV.fetch("KEY"))
IssueCustomField.find_by(name: "Alert fingerprint") || IssueCustomField.create!(
  name: "Alert fingerprint", field_format: "string", is_for_all: true,
  is_filter: true, searchable: true, visible: true, tracker_ids: Tracker.pluck(:id))
p = Project.find_by(identifier: ENV.fetch("PROJECT")) || Project.create!(
  name: ENV.fetch("PROJECT"), identifier: ENV.fetch("PROJECT"), is_public: false)
p.enabled_module_names = (p.enabled_module_names | ["issue_tracking"]); p.save!
' >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
  "${as_redmine[@]}" bundle exec thin start -a 127.0.0.1 -p "$port" -e production -R config.ru >>"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 240); do
    if curl -fs -o /dev/null -H "X-Redmine-API-Key: $key" "http://127.0.0.1:$port/users/current.json"; then
      echo "$pid"
      exit 0
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.25
  done
  echo "redmine did not answer on port $port" >&2
  kill "$pid" 2>/dev/null || true
  exit 1
  ;;
*)
  echo "usage: $0 install | start PORT API_KEY PROJECT" >&2
  exit 2
  ;;
esac
