"""The base images compose runs on: upstream's where they can be pulled, else stand-ins built from Debian's packages.

Upstream's names are the defaults in docker-compose.yml (`${POSTGRES_IMAGE:-postgres:17.6-alpine}`, the build
arguments), read from there. A stand-in honours the contract written at the top of its Dockerfile in
tests/compose/standins/ and nothing more. Docker's build cache keeps stand-ins between runs on one machine.

    python -m tests.compose.images      builds what is missing, prints VARIABLE=image for each
"""

import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STANDINS = Path(__file__).resolve().parent / "standins"
DEBIAN_IMAGE = "taskflow-standin/debian:bookworm"
# The host's CA bundle: it trusts whatever stands between this machine and PyPI, so pip in a container does too.
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# Each variable and the stand-in (tests/compose/standins/NAME) that replaces its image.
STANDIN_OF = {
    "PYTHON_IMAGE": "python",
    "POSTGRES_IMAGE": "postgres",
    "LOCALSTACK_IMAGE": "localstack",
    "LAMBDA_IMAGE": "lambda",
}


@dataclass(frozen=True)
class BaseImage:
    variable: str
    upstream: str
    used: str

    @property
    def is_standin(self) -> bool:
        return self.used != self.upstream


def docker(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], text=True, **kwargs)


def upstream_images() -> dict[str, str]:
    """{variable: upstream image} from the defaults in docker-compose.yml."""
    compose = (ROOT / "docker-compose.yml").read_text()
    found = dict(re.findall(r"\$\{([A-Z]+_IMAGE):-([^}]+)\}", compose))
    assert found.keys() == STANDIN_OF.keys(), f"docker-compose.yml names {sorted(found)}"
    return found


def available(image: str) -> bool:
    """Whether `image` is here or can be pulled."""
    if docker("image", "inspect", image, capture_output=True).returncode == 0:
        return True
    return docker("pull", "--quiet", image, capture_output=True).returncode == 0


def build_debian() -> None:
    """The minimal Debian root file system, as an image: the stand-ins' base. Once per machine."""
    if docker("image", "inspect", DEBIAN_IMAGE, capture_output=True).returncode == 0:
        return
    with tempfile.TemporaryDirectory(prefix="standin-debian-") as scratch:
        rootfs = Path(scratch, "rootfs")
        subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs), "http://deb.debian.org/debian"],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        docker("import", "--change", 'CMD ["bash"]', "-", DEBIAN_IMAGE, stdin=tar.stdout, check=True,
               stdout=subprocess.DEVNULL)  # fmt: skip
        tar.wait()


def build_context(name: str, context: Path) -> None:
    """The stand-in's folder plus the project's files it is built from, each fact kept where the project keeps it."""
    shutil.copytree(STANDINS / name, context, dirs_exist_ok=True)
    if name == "python":
        shutil.copy(HOST_CA_BUNDLE, context / "ca-bundle.crt")
    if name == "localstack":
        shutil.copy(ROOT / "localstack/requirements.txt", context / "requirements.txt")
    if name == "lambda":
        emulated = (ROOT / "lambda/requirements-emulated.txt").read_text().splitlines()
        (context / "requirements-runtime.txt").write_text("".join(f"{pin}\n" for pin in emulated
                                                                  if pin.startswith("awslambdaric==")))  # fmt: skip
        shutil.copy(ROOT / "tests/lambda_runtime_api.py", context)


def build_standin(name: str) -> str:
    """Build (or find in Docker's cache) the stand-in `name`; return its tag."""
    tag = f"taskflow-standin/{name}:local"
    with tempfile.TemporaryDirectory(prefix=f"standin-{name}-") as context:
        build_context(name, Path(context))
        built = docker("build", "--quiet", "--build-arg", f"DEBIAN_IMAGE={DEBIAN_IMAGE}", "--build-arg",
               "PYTHON_IMAGE=taskflow-standin/python:local", "--tag", tag, context, capture_output=True)  # fmt: skip
        if built.returncode:
            raise RuntimeError(f"building the {name} stand-in failed:\n{built.stdout}{built.stderr}")
    return tag


def base_images() -> list[BaseImage]:
    """Each base image compose needs: upstream's when available, else its stand-in, built as needed."""
    chosen = []
    for variable, upstream in upstream_images().items():
        if available(upstream):
            chosen.append(BaseImage(variable, upstream, upstream))
            continue
        build_debian()
        if STANDIN_OF[variable] in ("localstack", "lambda"):
            build_standin("python")  # their base
        chosen.append(BaseImage(variable, upstream, build_standin(STANDIN_OF[variable])))
    return chosen


if __name__ == "__main__":
    for image in base_images():
        print(f"{image.variable}={image.used}")
        if image.is_standin:
            print(f"# {image.upstream} cannot be pulled: using the stand-in", file=sys.stderr)
