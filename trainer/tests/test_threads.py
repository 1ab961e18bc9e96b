import os
import subprocess
import sys
import unittest

PROBE = "import fleetcast_trainer, os; print(os.environ['OMP_WAIT_POLICY'])"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def wait_policy(**env):
    base = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=HERE, env={**base, **env}, capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


class WaitPolicyTest(unittest.TestCase):
    """Idle OpenMP threads must sleep: spinning ones doubled the epoch time on a 2-core runner."""

    def test_the_package_makes_idle_threads_sleep(self):
        self.assertEqual(wait_policy(), "PASSIVE")

    def test_an_explicit_setting_wins(self):
        self.assertEqual(wait_policy(OMP_WAIT_POLICY="ACTIVE"), "ACTIVE")


if __name__ == "__main__":
    unittest.main()
