#!/bin/sh
# A minimal exec credential plugin for the e2e tests: prints an ExecCredential
# whose token comes from $KUBEGEN_E2E_TOKEN, and counts its runs in
# $KUBEGEN_E2E_COUNTER so the test can check caching.
[ -n "$KUBEGEN_E2E_COUNTER" ] && echo run >> "$KUBEGEN_E2E_COUNTER"
case "$KUBERNETES_EXEC_INFO" in
  *'"apiVersion":"client.authentication.k8s.io/v1beta1"'*) v=v1beta1 ;;
  *) v=v1 ;;
esac
printf '{"apiVersion":"client.authentication.k8s.io/%s","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"2999-01-01T00:00:00Z"}}\n' "$v" "$KUBEGEN_E2E_TOKEN"
