# The versions the kind track of tutorial.md pins, in one place. Blocks `source` this file, so
# a section run on its own (`node runner.mjs --target kind --only ID`) sees the same pins.
# The "Versions" section of tutorial.md explains each one; test/tutorial keeps the two in step.

# kind: the release whose node images the digest below was built for (its release notes list it).
export KIND_VERSION=v0.33.0
# Kubernetes 1.34: the newest minor Linkerd 2.19 supports. Digest-pinned, as kind asks.
export KIND_NODE_IMAGE=kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d
# Gateway API CRDs: Linkerd 2.18+ wants them before `linkerd install --crds`; 2.19 supports 1.1.1-1.4.0.
export GATEWAY_API_VERSION=v1.4.0
# Linkerd: the edge release that is version 2.19. The install script reads LINKERD2_VERSION.
export LINKERD2_VERSION=edge-25.10.7
# linkerd-smi: the last release of the (deprecated) extension. Its install script reads this name.
export LINKERD_SMI_VERSION=v0.2.7

# Both install scripts put their binaries here.
case ":$PATH:" in
  *":$HOME/.linkerd2/bin:"*) ;;
  *) export PATH="$HOME/.linkerd2/bin:$PATH" ;;
esac
