# The versions the kind track of tutorial.md pins, in one place. Blocks `source` this file, so
# a section run on its own (`node runner.mjs --target kind --only ID`) sees the same pins.
# The "Versions" section of tutorial.md explains each one; test/tutorial keeps the two in step.

# kind: the release whose node images the digest below was built for (its release notes list it).
export KIND_VERSION=v0.33.0
# Kubernetes 1.35: the newest minor Linkerd 2.20 supports (1.31-1.35); the digest is the one kind
# v0.33.0's release notes list for v1.35.8, as kind asks. 1.35 node images need a cgroup v2 host.
export KIND_NODE_IMAGE=kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0
# Gateway API CRDs: Linkerd 2.18+ wants them before `linkerd install --crds`. Linkerd 2.20 supports
# 1.2.1-1.5.1 and recommends 1.2.1, the version pinned here.
export GATEWAY_API_VERSION=v1.2.1
# Linkerd: the edge release that is version 2.20 (later edges change the destination service,
# edge-26.7.1 #15473). The install script reads LINKERD2_VERSION.
export LINKERD2_VERSION=edge-26.6.3
# linkerd-smi: the last release of the (deprecated, archived) extension. Its install script reads this name.
export LINKERD_SMI_VERSION=v0.2.7

# Both install scripts put their binaries here.
case ":$PATH:" in
  *":$HOME/.linkerd2/bin:"*) ;;
  *) export PATH="$HOME/.linkerd2/bin:$PATH" ;;
esac
