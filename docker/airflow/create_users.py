"""Creates or updates the Airflow users of the FAB auth manager, one per role, in one process.

  Admin   AIRFLOW_ADMIN_USER / AIRFLOW_ADMIN_PASSWORD        (administers Airflow)
  Op      AIRFLOW_OPERATOR_USER / AIRFLOW_OPERATOR_PASSWORD  (operators: trigger, clear, approve)
  Viewer  AIRFLOW_REVIEWER_USER / AIRFLOW_REVIEWER_PASSWORD  (reviewers: read DAGs, runs, the reports)

Idempotent: an existing user gets the role and the password from the environment (so a rotated
password takes effect on the next `docker compose up`). Prints one line per user, never a password.
"""

from __future__ import annotations

import os
import sys

USERS = (
    ("Admin", "AIRFLOW_ADMIN_USER", "AIRFLOW_ADMIN_PASSWORD"),
    ("Op", "AIRFLOW_OPERATOR_USER", "AIRFLOW_OPERATOR_PASSWORD"),
    ("Viewer", "AIRFLOW_REVIEWER_USER", "AIRFLOW_REVIEWER_PASSWORD"),
)


def main() -> int:
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    wanted = []
    for role, user_var, password_var in USERS:
        user, password = os.environ.get(user_var, "").strip(), os.environ.get(password_var, "")
        if not user or not password:
            print(f"error: set {user_var} and {password_var} (the {role} user)", file=sys.stderr)
            return 2
        wanted.append((role, user, password))
    with get_application_builder() as appbuilder:
        sm = appbuilder.sm
        for role_name, user, password in wanted:
            role = sm.find_role(role_name)
            if role is None:
                print(f"error: the FAB role {role_name} does not exist; run airflow db migrate", file=sys.stderr)
                return 1
            existing = sm.find_user(username=user)
            if existing is None:
                if not sm.add_user(user, user, role_name, f"{user}@datafactory.invalid", role, password):
                    print(f"error: could not create the Airflow user {user}", file=sys.stderr)
                    return 1
                print(f"created Airflow user {user} ({role_name})")
            else:
                existing.roles = [role]
                sm.update_user(existing)
                sm.reset_password(existing.id, password)
                print(f"updated Airflow user {user} ({role_name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
