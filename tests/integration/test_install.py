"""tern consumed as an installed library (issue 5): `cmake --install` of
this build tree into a temporary prefix, then programs built against that
copy only, the ways C and C++ users build them:

  - every installed public header compiles on its own with just
    -I<prefix>/include (and Asio, from the system, for async_client.h);
    tern/smtp.h also as C99. No header reaches into src/.
  - tests/client/consumer.cc with g++ and `pkg-config --cflags --libs tern`;
  - the same program as a CMake project using find_package(tern) and
    tern::tern (tests/client/find_package/);
  - tests/c_api/send_letter.c with gcc -std=c99 and pkg-config;
each is run (linked to the installed libtern.so, checked with ldd) and
sends to a tern started here; the messages must arrive.

TERN_BUILD_DIR and TERN_SOURCE_DIR come from tests/CMakeLists.txt.
"""
import glob
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from tern_harness import Tern, main

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("TERN_SOURCE_DIR") or os.path.join(HERE, "..", "..")
BUILD = os.environ.get("TERN_BUILD_DIR") or os.path.join(SOURCE, "build", "debug")
RCPT = "installed@example.test"


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p.stdout


class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tern-install-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        run(["cmake", "--install", BUILD, "--prefix", cls.prefix])
        pcs = glob.glob(os.path.join(cls.prefix, "lib*", "**", "tern.pc"), recursive=True)
        assert len(pcs) == 1, pcs
        cls.pkgconfig_dir = os.path.dirname(pcs[0])
        cls.libdir = os.path.dirname(cls.pkgconfig_dir)
        cls.t = Tern(domains=["example.test"], kinds=("smtp",), accept_any_local_part=True)
        cls.t.start()

    @classmethod
    def tearDownClass(cls):
        cls.t.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def pkg_config(self, *args):
        env = dict(os.environ, PKG_CONFIG_PATH=self.pkgconfig_dir)
        return run(["pkg-config", *args, "tern"], env=env).split()

    def assert_uses_installed_lib(self, exe):
        ldd = run(["ldd", exe])
        m = re.search(r"libtern\.so\S*\s+=>\s+(\S+)", ldd)
        self.assertTrue(m, ldd)
        self.assertEqual(os.path.dirname(os.path.realpath(m.group(1))),
                         os.path.realpath(self.libdir), ldd)

    def arrived(self, tag, count, timeout=10.0):
        """The delivered messages carrying `tag`, once there are `count`."""
        deadline = time.time() + timeout
        while True:
            msgs = [m for m in self.t.messages(RCPT) if tag.encode() in m]
            if len(msgs) >= count or time.time() > deadline:
                return msgs
            time.sleep(0.05)

    def test_layout(self):
        for h in ("client.h", "async_client.h", "message.h", "mailbox.h", "address.h", "reply.h",
                  "smtp.h"):
            self.assertTrue(os.path.isfile(os.path.join(self.prefix, "include", "tern", h)), h)
        self.assertTrue(os.path.isfile(os.path.join(self.prefix, "bin", "tern")))
        libs = sorted(os.path.basename(p) for p in glob.glob(os.path.join(self.libdir, "libtern.so*")))
        self.assertEqual(libs, ["libtern.so", "libtern.so.0.1", "libtern.so.0.1.0"])
        soname = run(["readelf", "-d", os.path.join(self.libdir, "libtern.so")])
        self.assertIn("[libtern.so.0.1]", soname)
        self.assertTrue(glob.glob(os.path.join(self.libdir, "cmake", "tern", "ternConfig.cmake")))
        self.assertTrue(glob.glob(os.path.join(self.libdir, "cmake", "tern", "ternTargets.cmake")))
        self.assertEqual(self.pkg_config("--modversion"), ["0.1.0"])

    def test_public_headers_stand_alone(self):
        include = os.path.join(self.prefix, "include")
        for h in sorted(glob.glob(os.path.join(include, "tern", "*.h"))):
            name = os.path.basename(h)
            with open(h) as f:
                for inc in re.findall(r'#include\s+["<]([^">]+)[">]', f.read()):
                    self.assertFalse(re.match(r"(core|net|client|tls|mime|config|dns|relay|server|"
                                              r"queue|auth|delivery|dkim|spf)/", inc),
                                     f"{name} includes {inc} from src/")
            src = f"#include <tern/{name}>\nint main() {{ return 0; }}\n"
            run(["g++", "-std=c++20", "-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-I", include,
                 "-x", "c++", "-"], input=src)
            if name == "smtp.h":
                run(["gcc", "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror",
                     "-fsyntax-only", "-I", include, "-x", "c", "-"], input=src)

    def test_pkg_config_cpp(self):
        exe = os.path.join(self.tmp, "consumer-pc")
        flags = self.pkg_config("--cflags", "--libs")
        self.assertIn("-ltern", flags)
        run(["g++", "-std=c++20", "-o", exe, os.path.join(SOURCE, "tests", "client", "consumer.cc"),
             *flags, f"-Wl,-rpath,{self.libdir}"])
        self.assert_uses_installed_lib(exe)
        run([exe, "127.0.0.1", str(self.t.port("smtp")), "sender@example.org", RCPT, "pkgconfig"])
        self.assertEqual(len(self.arrived("pkgconfig blocking", 1)), 1)
        self.assertEqual(len(self.arrived("pkgconfig async", 1)), 1)

    def test_find_package_cmake(self):
        build = os.path.join(self.tmp, "cmake-consumer")
        run(["cmake", "-S", os.path.join(SOURCE, "tests", "client", "find_package"), "-B", build,
             "-G", "Ninja", f"-DCMAKE_PREFIX_PATH={self.prefix}", "-DCMAKE_BUILD_TYPE=Release"])
        run(["cmake", "--build", build])
        exe = os.path.join(build, "consumer")
        self.assert_uses_installed_lib(exe)
        run([exe, "127.0.0.1", str(self.t.port("smtp")), "sender@example.org", RCPT,
             "findpackage"])
        self.assertEqual(len(self.arrived("findpackage blocking", 1)), 1)
        self.assertEqual(len(self.arrived("findpackage async", 1)), 1)

    def test_pkg_config_c(self):
        exe = os.path.join(self.tmp, "send-letter-pc")
        run(["gcc", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-o", exe,
             os.path.join(SOURCE, "tests", "c_api", "send_letter.c"),
             *self.pkg_config("--cflags", "--libs"), f"-Wl,-rpath,{self.libdir}"])
        self.assert_uses_installed_lib(exe)
        attachment = os.path.join(self.tmp, "note.txt")
        with open(attachment, "w") as f:
            f.write("attached\n")
        run([exe, "127.0.0.1", str(self.t.port("smtp")), "none", "", "", "sender@example.org", RCPT,
             "C via pkg-config", "<p>hi</p>", attachment])
        self.assertEqual(len(self.arrived("C via pkg-config", 1)), 1)


if __name__ == "__main__":
    main()
