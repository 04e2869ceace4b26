# Quick start: `make demo` then `make test`. Everything else is here for developers and CI.
SHELL := /bin/bash
MVN ?= mvn -B -q
# PostgreSQL server binaries per major (zonky bundles from Maven Central) for tests, demo and bench.
# When running as root they must be reachable by the unprivileged user the servers run as (pg-home.sh).
PG_HOME ?= $(shell scripts/pg-home.sh)
# Every major a target can have: the jar finds these for SchemaCheck's throwaway server (ServerBinaries).
PG_MAJORS := 10 11 12 13 14 15 16 17 18
JAR := target/pgupgrade.jar

.PHONY: toolbox-images build demo test unit pg-binaries kube-binaries crds image clean bench

build: $(JAR) pg-binaries

$(JAR): pom.xml $(shell find src/main -type f)
	$(MVN) package -DskipTests

pg-binaries:
	scripts/pg-binaries.sh "$(PG_HOME)" $(PG_MAJORS)

demo: build
	PG_HOME="$(PG_HOME)" scripts/demo.sh

bench: build
	PG_HOME="$(PG_HOME)" scripts/bench.sh

# etcd, kube-apiserver, kube-controller-manager and kubectl 1.20 for RealApiServerTest, built once from
# Debian's sources and cached outside the repository (scripts/kube-binaries.sh; ~10 min cold, seconds warm).
kube-binaries:
	scripts/kube-binaries.sh

# A cold kube build runs in the background, at the lowest priority, while the other tests run; the
# control plane's first user (KubeControlPlane) runs the script too, which waits for that build's lock.
test: pg-binaries
	mkdir -p target && { nice -n 19 scripts/kube-binaries.sh >/dev/null 2>target/kube-binaries.log & }
	mvn -B test -Dpgupgrade.pgHome="$(PG_HOME)"

# Only the fast tests (no PostgreSQL servers, no operator end-to-end, no k3s).
unit:
	mvn -B test -Dtest='!dev.pgupgrade.it.**,!dev.pgupgrade.operator.*EndToEnd*,!dev.pgupgrade.operator.OperatorFailureTest,!dev.pgupgrade.operator.RealApiServerTest'

# Regenerate crds/ from the Java classes in src/main/java/dev/pgupgrade/api (CrdUpToDateTest checks it).
crds: $(JAR)
	java -jar $(JAR) crd > crds/postgresupgrades.pgupgrade.dev.yaml
	cp crds/postgresupgrades.pgupgrade.dev.yaml helm/pgupgrade-operator/crds/postgresupgrades.pgupgrade.dev.yaml

# The operator image (operator/Dockerfile), where a container engine runs.
IMAGE ?= pgupgrade-operator:dev
image: $(JAR)
	@if docker info >/dev/null 2>&1; then docker build -f operator/Dockerfile -t $(IMAGE) .; \
	else echo "make image: no container engine answers here (docker info failed); build on a machine with Docker" >&2; exit 1; fi

# The Aptible step images (operator/toolbox/Dockerfile), one per target major.
TOOLBOX_MAJORS ?= 13 14 15 16 17 18
TOOLBOX_REPOSITORY ?= ghcr.io/pgupgrade/toolbox
toolbox-images:
	@if docker info >/dev/null 2>&1; then for m in $(TOOLBOX_MAJORS); do \
	  docker build -f operator/toolbox/Dockerfile --build-arg PG_MAJOR=$$m -t $(TOOLBOX_REPOSITORY):$$m operator/toolbox || exit 1; done; \
	else echo "make toolbox-images: no container engine answers here (docker info failed); build on a machine with Docker" >&2; exit 1; fi

clean:
	$(MVN) clean
