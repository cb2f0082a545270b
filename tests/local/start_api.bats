#!/usr/bin/env bats
# nearjs-local start-api over real HTTP with curl: events (2.0 and 1.0) as the function sees them, answers
# mapped back, every error mapping with its log line, HTTP/2, warm workers under concurrency and crashes,
# SAM templates, and the custom domain mode over TLS (SNI and Host checks).

load serve_lib

setup() {
    serve_setup
}

teardown() {
    serve_teardown
}

@test "usage: help, bad flags and missing function exit 2 with one line" {
    run "$BIN" start-api --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"--payload"* && "$output" == *"Exit codes:"* ]]
    run "$BIN" start-api --payload 3.0 "$FN"
    [ "$status" -eq 2 ]
    [[ "$output" == *"--payload '3.0'"* ]]
    run "$BIN" start-api --domain x.example.test "$FN"
    [ "$status" -eq 2 ]
    [[ "$output" == *"--domain, --cert and --key go together"* ]]
    cd "$T"
    run "$BIN" start-api
    [ "$status" -eq 2 ]
    [[ "$output" == *"no function"* ]]
    run "$BIN" start-lambda --payload 1.0 "$FN"
    [ "$status" -eq 2 ]
}

@test "v2 event: lowercase headers joined, cookies, query decoded and joined, requestContext" {
    start_server start-api --workers 1 "$FN"
    req "$URL/some/path?a=1&a=2&b=x%20y&empty" -H 'X-Multi: one' -H 'X-Multi: two' -H 'Cookie: c1=v1; c2=v2' \
        -H 'User-Agent: test-agent'
    [ "$code" = 200 ] || fail_with "status"
    [ "$(header content-type)" = application/json ] || fail_with "content-type"
    [ -n "$(header apigw-requestid)" ] || fail_with "apigw-requestid"
    jq_py "$T/b" 'd["version"]' | grep -qx '2.0' || fail_with version
    [ "$(jq_py "$T/b" 'd["rawPath"]')" = /some/path ] || fail_with rawPath
    [ "$(jq_py "$T/b" 'd["rawQueryString"]')" = 'a=1&a=2&b=x%20y&empty' ] || fail_with rawQueryString
    [ "$(jq_py "$T/b" 'd["headers"]["x-multi"]')" = 'one,two' ] || fail_with x-multi
    [ "$(jq_py "$T/b" '"cookie" in d["headers"]')" = False ] || fail_with "cookie header kept"
    [ "$(jq_py "$T/b" 'd["cookies"]')" = "['c1=v1', 'c2=v2']" ] || fail_with cookies
    [ "$(jq_py "$T/b" 'd["queryStringParameters"]')" = "{'a': '1,2', 'b': 'x y', 'empty': ''}" ] || fail_with query
    [ "$(jq_py "$T/b" 'd["requestContext"]["http"]["method"]')" = GET ] || fail_with method
    [ "$(jq_py "$T/b" 'd["requestContext"]["http"]["protocol"]')" = HTTP/1.1 ] || fail_with protocol
    [ "$(jq_py "$T/b" 'd["requestContext"]["http"]["sourceIp"]')" = 127.0.0.1 ] || fail_with sourceIp
    [ "$(jq_py "$T/b" 'd["requestContext"]["http"]["userAgent"]')" = test-agent ] || fail_with userAgent
    [ "$(jq_py "$T/b" 'd["requestContext"]["domainName"]')" = 127.0.0.1 ] || fail_with domainName
    [ "$(jq_py "$T/b" 'd["requestContext"]["requestId"]')" = "$(header apigw-requestid)" ] || fail_with requestId
    [ "$(jq_py "$T/b" 'd["headers"]["x-forwarded-for"]')" = 127.0.0.1 ] || fail_with xff
    [ "$(jq_py "$T/b" 'd["headers"]["x-forwarded-port"]')" = "$PORT" ] || fail_with xfp
    [ "$(jq_py "$T/b" '"body" in d')" = False ] || fail_with "body on a GET"
    # an incoming X-Forwarded-For is kept, the client's address appended
    req "$URL/" -H 'X-Forwarded-For: 203.0.113.9'
    [ "$(jq_py "$T/b" 'd["headers"]["x-forwarded-for"]')" = '203.0.113.9, 127.0.0.1' ] || fail_with "xff append"
}

@test "v1 event: headers and multiValueHeaders, query and multiValue query, identity.sourceIp" {
    start_server start-api --workers 1 --payload 1.0 "$FN"
    req "$URL/items/7?a=1&a=2" -H 'X-Multi: one' -H 'X-Multi: two' -H 'Cookie: c=1' -d 'form=1'
    [ "$code" = 200 ] || fail_with status
    [ -n "$(header x-amzn-requestid)" ] || fail_with x-amzn-requestid
    [ "$(jq_py "$T/b" 'd["version"]')" = 1.0 ] || fail_with version
    [ "$(jq_py "$T/b" 'd["httpMethod"]')" = POST ] || fail_with httpMethod
    [ "$(jq_py "$T/b" 'd["path"]')" = /items/7 ] || fail_with path
    [ "$(jq_py "$T/b" '{k.lower(): v for k, v in d["headers"].items()}["x-multi"]')" = two ] || fail_with headers
    [ "$(jq_py "$T/b" '{k.lower(): v for k, v in d["multiValueHeaders"].items()}["x-multi"]')" = "['one', 'two']" ] ||
        fail_with multiValueHeaders
    [ "$(jq_py "$T/b" '{k.lower(): v for k, v in d["headers"].items()}["cookie"]')" = c=1 ] || fail_with cookie
    [ "$(jq_py "$T/b" 'd["queryStringParameters"]')" = "{'a': '2'}" ] || fail_with query
    [ "$(jq_py "$T/b" 'd["multiValueQueryStringParameters"]')" = "{'a': ['1', '2']}" ] || fail_with mvquery
    [ "$(jq_py "$T/b" 'd["requestContext"]["identity"]["sourceIp"]')" = 127.0.0.1 ] || fail_with sourceIp
    [ "$(jq_py "$T/b" 'd["body"]')" = form=1 ] || fail_with body
    # 1.0 has no bare-value form: an answer without statusCode is malformed
    req "$URL/answer" --data-binary '{"hello":1}'
    [ "$code" = 502 ] || fail_with "bare value under 1.0"
    grep -q 'malformed answer.*no statusCode' "$T/err" || fail_with "log line"
}

@test "answers mapped back: status, headers, multiValueHeaders, one Set-Cookie per cookie, base64, bare value" {
    start_server start-api --workers 1 "$FN"
    req "$URL/answer" --data-binary '{"statusCode":418,"headers":{"X-One":"1","Content-Type":"text/plain"},
        "multiValueHeaders":{"X-Many":["a","b"]},"cookies":["a=1; Path=/","b=2; HttpOnly"],"body":"teapot"}'
    [ "$code" = 418 ] || fail_with status
    [ "$body" = teapot ] || fail_with body
    [ "$(header x-one)" = 1 ] || fail_with x-one
    [ "$(header content-type)" = text/plain ] || fail_with content-type
    [ "$(grep -ci '^x-many:' "$T/h")" = 2 ] || fail_with x-many
    [ "$(grep -ci '^set-cookie:' "$T/h")" = 2 ] || fail_with set-cookie
    grep -qi '^set-cookie: b=2; HttpOnly' "$T/h" || fail_with "cookie b"
    req "$URL/answer" --data-binary '{"statusCode":200,"body":"AAEC/w==","isBase64Encoded":true}'
    [ "$code" = 200 ] && [ "$(od -An -tx1 "$T/b" | tr -d ' \n')" = 000102ff ] || fail_with base64
    req "$URL/answer" --data-binary '[1,2,3]'
    [ "$code" = 200 ] && [ "$body" = '[1,2,3]' ] && [ "$(header content-type)" = application/json ] ||
        fail_with "bare value"
    # HEAD: headers only
    code=$(curl -sS -I -o /dev/null -w '%{http_code} %{size_download}' "$URL/x")
    [ "$code" = "200 0" ] || fail_with HEAD
}

@test "no invented body type (304, 204, statusCode without one); every status line has its reason phrase" {
    start_server start-api --workers 1 "$FN"
    req "$URL/answer" --data-binary '{"statusCode":304,"headers":{"etag":"\"e1\""}}'
    [ "$code" = 304 ] && [ "$(header etag)" = '"e1"' ] || fail_with "304"
    [ -z "$(header content-type)" ] || fail_with "a 304 got a content-type"
    req "$URL/answer" --data-binary '{"statusCode":204}'
    [ "$code" = 204 ] && [ -z "$(header content-type)" ] || fail_with "a 204 got a content-type"
    req "$URL/answer" --data-binary '{"statusCode":200,"body":"x"}'
    [ "$code" = 200 ] && [ -z "$(header content-type)" ] || fail_with "a typeless 200 got a content-type"
    # the documented default: 2.0's inferred form only
    req "$URL/answer" --data-binary '{"a":1}'
    [ "$(header content-type)" = application/json ] || fail_with "inferred form"
    for want in "405 Method Not Allowed" "304 Not Modified" "418 I'm a teapot" "499 Bad Request"; do
        req --http1.1 "$URL/answer" --data-binary "{\"statusCode\":${want%% *}}"
        [ "$(head -1 "$T/h" | tr -d '\r')" = "HTTP/1.1 $want" ] || fail_with "status line for $want"
    done
    # the gateway's own answers too
    req --http1.1 "$URL/answer" --data-binary 'not json'
    [ "$(head -1 "$T/h" | tr -d '\r')" = "HTTP/1.1 502 Bad Gateway" ] || fail_with "502 status line"
}

@test "binary body round trip (64 KB of random bytes, base64 both ways)" {
    start_server start-api --workers 1 "$FN"
    head -c 65536 /dev/urandom >"$T/in"
    req "$URL/binary" -H 'Content-Type: application/octet-stream' --data-binary "@$T/in"
    [ "$code" = 200 ] || fail_with status
    cmp "$T/in" "$T/b" || fail_with "bytes differ"
    # text that is not UTF-8 goes base64 as well
    printf 'ab\xffcd' >"$T/in"
    req "$URL/binary" -H 'Content-Type: text/plain' --data-binary "@$T/in"
    cmp "$T/in" "$T/b" || fail_with "non-UTF-8 text differs"
}

@test "error mappings: malformed 502, function error 502, crash 502, timeout 504, 413; each logged" {
    start_server start-api --workers 1 --timeout 1 "$FN"
    req "$URL/answer" --data-binary 'not json'
    [ "$code" = 502 ] && [ "$body" = '{"message":"Internal server error"}' ] || fail_with "not JSON"
    grep -q '502: malformed answer from the function.*not JSON' "$T/err" || fail_with "log: malformed"
    req "$URL/answer" --data-binary '{"statusCode":200,"headers":{"x":"a\r\nb"}}'
    [ "$code" = 502 ] || fail_with "header injection"
    grep -q 'control character' "$T/err" || fail_with "log: control character"
    req "$URL/fail"
    [ "$code" = 502 ] && [ "$body" = '{"message":"Internal server error"}' ] || fail_with "function error"
    grep -q '502: the function failed.*Test.Failed: asked to fail' "$T/err" || fail_with "log: function error"
    req "$URL/crash"
    [ "$code" = 502 ] || fail_with crash
    grep -q '502: the runtime crashed.*Runtime.ExitError' "$T/err" || fail_with "log: crash"
    req "$URL/sleep/3000"
    [ "$code" = 504 ] && [ "$body" = '{"message":"Endpoint request timed out"}' ] || fail_with timeout
    grep -q '504: the function timed out after 1.00 s' "$T/err" || fail_with "log: timeout"
    # the replaced runtime serves the next request
    req "$URL/pid"
    [ "$code" = 200 ] || fail_with "after replacement"
    head -c $((10 * 1024 * 1024 + 1)) /dev/zero >"$T/big"
    req "$URL/answer" --data-binary "@$T/big"
    [ "$code" = 413 ] || fail_with "10 MB + 1"
    req "$URL/pid"
    [ "$code" = 200 ] || fail_with "after 413"
}

@test "413 over 10 MB in API Gateway's words: JSON, request id, logged; Content-Length and chunked" {
    # --timeout 30: the function reads 10 MB through the Runtime API, which took over the default 3 s (a 504)
    # on a loaded 2-core machine; the timeout is not what this test is about
    start_server start-api --workers 1 --timeout 30 "$FN"
    head -c $((10 * 1024 * 1024 + 1)) /dev/zero >"$T/big"
    req "$URL/answer" --data-binary "@$T/big"
    [ "$code" = 413 ] && [ "$body" = '{"message":"Request Entity Too Large"}' ] || fail_with "Content-Length"
    [ "$(header content-type)" = application/json ] || fail_with "content-type"
    [ -n "$(header apigw-requestid)" ] || fail_with "request id"
    grep -q 'POST /answer .*413: the request body is over 10485760 bytes' "$T/err" || fail_with "log line"
    req "$URL/answer" -H 'Transfer-Encoding: chunked' --data-binary "@$T/big"
    [ "$code" = 413 ] && [ "$body" = '{"message":"Request Entity Too Large"}' ] || fail_with chunked
    # exactly 10 MB is the function's (not JSON: its answer is malformed, so 502)
    head -c $((10 * 1024 * 1024)) /dev/zero >"$T/big"
    req "$URL/answer" --data-binary "@$T/big"
    [ "$code" = 502 ] || fail_with "10 MB exactly"
    req "$URL/pid"
    [ "$code" = 200 ] || fail_with "after 413"
}

@test "HTTP/2 with prior knowledge (h2c)" {
    start_server start-api --workers 1 "$FN"
    req --http2-prior-knowledge "$URL/h2?x=1" -H 'X-A: 1'
    [ "$code" = 200 ] || fail_with status
    grep -q '^HTTP/2 200' "$T/h" || fail_with "not HTTP/2"
    [ "$(jq_py "$T/b" 'd["requestContext"]["http"]["protocol"]')" = HTTP/2.0 ] || fail_with protocol
    [ "$(jq_py "$T/b" 'd["headers"]["host"]')" = "127.0.0.1:$PORT" ] || fail_with host
    req --http2-prior-knowledge "$URL/answer" --data-binary '{"statusCode":201,"headers":{"X-Up":"v"},"cookies":["a=1","b=2"]}'
    [ "$code" = 201 ] && [ "$(header x-up)" = v ] && [ "$(grep -ci '^set-cookie:' "$T/h")" = 2 ] || fail_with answer
}

@test "warm pool: more concurrent requests than workers queue, each worker inits once" {
    start_server start-api --workers 2 "$FN"
    [ "$(grep -c 'init .* ms (pid' "$T/err")" = 2 ] || fail_with "init lines"
    local start end i pids=
    start=$(date +%s%N)
    for i in $(seq 1 8); do
        curl -sS --max-time 20 -o "$T/r$i" -w '%{http_code}\n' "$URL/sleep/250" >"$T/c$i" &
        pids="$pids $!"
    done
    wait $pids
    end=$(date +%s%N)
    for i in $(seq 1 8); do
        [ "$(cat "$T/c$i")" = 200 ] || fail_with "request $i: $(cat "$T/c$i")"
    done
    # 8 requests of 250 ms on 2 workers take 4 rounds
    [ $(((end - start) / 1000000)) -ge 950 ] || fail_with "too fast for 2 workers: $(((end - start) / 1000000)) ms"
    for i in $(seq 1 6); do req "$URL/pid"; echo "$body"; done | sort -u >"$T/pids"
    [ "$(wc -l <"$T/pids")" -le 2 ] || fail_with "more than 2 runtimes: $(cat "$T/pids")"
    [ "$(grep -c 'init .* ms (pid' "$T/err")" = 2 ] || fail_with "a worker was re-initialized"
}

@test "a crash under load fails only its own request; the worker is replaced" {
    start_server start-api --workers 2 "$FN"
    local i pids=
    for i in $(seq 1 20); do
        if [ "$i" = 7 ]; then
            curl -sS --max-time 20 -o /dev/null -w '%{http_code}\n' "$URL/crash" >"$T/c$i" &
        else
            curl -sS --max-time 20 -o /dev/null -w '%{http_code}\n' "$URL/sleep/50" >"$T/c$i" &
        fi
        pids="$pids $!"
    done
    wait $pids
    for i in $(seq 1 20); do
        if [ "$i" = 7 ]; then
            [ "$(cat "$T/c$i")" = 502 ] || fail_with "the crash got $(cat "$T/c$i")"
        else
            [ "$(cat "$T/c$i")" = 200 ] || fail_with "request $i got $(cat "$T/c$i")"
        fi
    done
    grep -q 'runtime exited during request .*replacing it' "$T/err" || fail_with "no replacement line"
    [ "$(grep -c 'init .* ms (pid' "$T/err")" = 3 ] || fail_with "want 3 inits (2 + 1 replacement)"
}

@test "client gone mid-invocation: the worker is not stuck, later requests are served" {
    start_server start-api --workers 1 "$FN"
    curl -sS --max-time 0.3 "$URL/sleep/800" >/dev/null 2>&1 || true
    # h2o does not read an HTTP/1 connection while its request is handled: the answer goes to the closed
    # socket and is dropped there; what matters is that the runtime is free again
    req "$URL/pid"
    [ "$code" = 200 ] || fail_with "after the client left"
    # over HTTP/2 the stream reset is seen at once: the job is cancelled and its result dropped
    curl -sS --http2-prior-knowledge --max-time 0.3 "$URL/sleep/800" >/dev/null 2>&1 || true
    req --http2-prior-knowledge "$URL/pid"
    [ "$code" = 200 ] || fail_with "after the h2 client left"
    grep -q 'client went away before the answer' "$T/err" || fail_with "no log line"
    stop_server
    [ "$server_status" = 0 ] || fail_with "exit status $server_status"
}

@test "SAM template: Handler, Timeout, Environment, CodeUri, Globals; --env-vars wins" {
    mkdir -p "$T/proj/build"
    ln -s "$FN" "$T/proj/build/bootstrap"
    cat >"$T/proj/template.yaml" <<'YAML'
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: 1
    Environment:
      Variables:
        FROM_GLOBALS: g
        OVERRIDDEN: template
Resources:
  Render:
    Type: AWS::Serverless::Function
    Properties:
      Handler: render.handler
      CodeUri: build/
      MemorySize: 256
      Environment:
        Variables:
          OWN: own
          REF: !Ref Something
YAML
    echo '{"Render": {"OVERRIDDEN": "env-vars"}}' >"$T/env.json"
    cd "$T/proj"
    start_server start-api --workers 1 --env-vars "$T/env.json"
    grep -q "function 'Render'" "$T/err" || fail_with "logical id as name"
    grep -q 'intrinsic functions and are left out' "$T/err" || fail_with "skipped !Ref not reported"
    req "$URL/env/_HANDLER"; [ "$body" = render.handler ] || fail_with handler
    req "$URL/env/AWS_LAMBDA_FUNCTION_MEMORY_SIZE"; [ "$body" = 256 ] || fail_with memory
    req "$URL/env/AWS_LAMBDA_FUNCTION_NAME"; [ "$body" = Render ] || fail_with name
    req "$URL/env/FROM_GLOBALS"; [ "$body" = g ] || fail_with globals
    req "$URL/env/OWN"; [ "$body" = own ] || fail_with own
    req "$URL/env/OVERRIDDEN"; [ "$body" = env-vars ] || fail_with "env-vars override"
    req "$URL/sleep/1500"; [ "$code" = 504 ] || fail_with "template Timeout 1"
}

@test "SAM template errors name the file, the line and the key" {
    printf 'Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Timeout: soon\n' >"$T/t.yaml"
    run "$BIN" start-api -t "$T/t.yaml" "$FN"
    [ "$status" -eq 2 ]
    [[ "$output" == *"template $T/t.yaml:5: Resources.Fn.Properties.Timeout: want an integer from 1 to 900, got 'soon'"* ]]
    printf 'Resources: [\n' >"$T/t.yaml"
    run "$BIN" start-lambda -t "$T/t.yaml"
    [ "$status" -eq 2 ]
    [[ "$output" == *"$T/t.yaml:2: YAML:"* ]]
}

# make_certs: a throwaway CA and a certificate for the custom domain (and other.example.test) in $T
make_certs() {
    command -v openssl >/dev/null || skip "openssl CLI not found (make test installs it, through scripts/setup.sh)"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.pem" -days 1 \
        -subj '/CN=nearjs test CA' >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -keyout "$T/srv.key" -out "$T/srv.csr" \
        -subj '/CN=us-east-1-fast.example.test' >/dev/null 2>&1
    printf 'subjectAltName=DNS:us-east-1-fast.example.test,DNS:other.example.test\n' >"$T/ext"
    openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -out "$T/srv.pem" \
        -days 1 -extfile "$T/ext" >/dev/null 2>&1
}

@test "custom domain over TLS: right SNI and Host served (HTTP/1.1 and h2), wrong SNI, Host or no SNI get 403" {
    make_certs
    local D=us-east-1-fast.example.test
    start_server start-api --workers 1 --domain $D --cert "$T/srv.pem" --key "$T/srv.key" "$FN"
    grep -q "listening on https://" "$T/err" || fail_with "not https"
    local R="--resolve $D:$PORT:127.0.0.1 --resolve other.example.test:$PORT:127.0.0.1 --cacert $T/ca.pem"
    req $R --http1.1 "https://$D:$PORT/ok"
    [ "$code" = 200 ] || fail_with "right names, HTTP/1.1"
    [ "$(jq_py "$T/b" 'd["requestContext"]["domainName"]')" = $D ] || fail_with domainName
    [ "$(jq_py "$T/b" 'd["headers"]["x-forwarded-proto"]')" = https ] || fail_with proto
    req $R --http2 "https://$D:$PORT/ok"
    [ "$code" = 200 ] && grep -q '^HTTP/2 200' "$T/h" || fail_with "right names, h2 by ALPN"
    [ "$(jq_py "$T/b" 'd["requestContext"]["http"]["protocol"]')" = HTTP/2.0 ] || fail_with "h2 protocol"
    # Host with its port is fine
    req $R "https://$D:$PORT/ok" -H "Host: $D:$PORT"
    [ "$code" = 200 ] || fail_with "Host with port"
    # wrong SNI (the certificate covers it, so only the gateway's check refuses it)
    req $R "https://other.example.test:$PORT/x"
    [ "$code" = 403 ] && [ "$body" = '{"message":"Forbidden"}' ] || fail_with "wrong SNI"
    [ "$(header x-amzn-errortype)" = ForbiddenException ] || fail_with "x-amzn-ErrorType"
    grep -q "403 ForbiddenException: SNI 'other.example.test' is not '$D'" "$T/err" || fail_with "log: SNI"
    # right SNI, wrong Host
    req $R "https://$D:$PORT/x" -H 'Host: other.example.test'
    [ "$code" = 403 ] || fail_with "wrong Host"
    grep -q "Host 'other.example.test' is not '$D'" "$T/err" || fail_with "log: Host"
    req $R --http2 "https://$D:$PORT/x" -H 'Host: other.example.test'
    [ "$code" = 403 ] || fail_with "wrong :authority over h2"
    # no SNI at all: curl sends none for an IP address
    req --insecure "https://127.0.0.1:$PORT/x" -H "Host: $D"
    [ "$code" = 403 ] || fail_with "no SNI"
    grep -q 'carried no SNI' "$T/err" || fail_with "log: no SNI"
    # plain HTTP to the TLS port is refused, and the server lives on
    curl -sS --max-time 3 "http://127.0.0.1:$PORT/" >/dev/null 2>&1 && fail_with "plain HTTP answered"
    req $R "https://$D:$PORT/ok"
    [ "$code" = 200 ] || fail_with "after a plain HTTP attempt"
}

@test "function URL: flags checked (--iam, --principal, --url-id need --function-url; no --domain, no payload 1.0)" {
    run "$BIN" start-api --iam AKIDEXAMPLE000000001:s "$FN"
    [ "$status" -eq 2 ]
    [[ "$output" == *"--iam, --principal and --url-id need --function-url"* ]]
    run "$BIN" start-api --function-url --payload 1.0 "$FN"
    [ "$status" -eq 2 ]
    [[ "$output" == *"payload 2.0 only"* ]]
    run "$BIN" start-api --function-url --domain x.example.test --cert /dev/null --key /dev/null "$FN"
    [ "$status" -eq 2 ]
    [[ "$output" == *"exclude each other"* ]]
    run "$BIN" start-api --function-url --iam short:secret "$FN"
    [ "$status" -eq 2 ]
    [[ "$output" == *"want KEY_ID:SECRET[:SESSION_TOKEN]"* ]]
    run "$BIN" start-api --function-url --url-id Bad_Id "$FN"
    [ "$status" -eq 2 ]
    [[ "$output" == *"--url-id 'Bad_Id'"* ]]
}

# furl PYTHON-ARGS...: one request through tests/local/furl_client.py (botocore's SigV4Auth signs it) to the
# server; status in $code, headers in $T/h, body in $T/b.
furl() {
    "$NEARJS_AWS_PYTHON" "$BATS_TEST_DIRNAME/furl_client.py" --connect "127.0.0.1:$PORT" --host "$FURL_HOST" "$@" >"$T/out"
    code=$(head -1 "$T/out")
    sed -n '2,/^$/p' "$T/out" >"$T/h"
    sed '1,/^$/d' "$T/out" >"$T/b"
}

@test "function URL, AWS_IAM: botocore-signed requests served with the URL's event; unsigned, expired, replayed, tampered, other credentials or scope: Lambda's 403" {
    [ -n "${NEARJS_AWS_PYTHON:-}" ] && "$NEARJS_AWS_PYTHON" -c 'import botocore' 2>/dev/null ||
        skip "no Python with botocore (make test installs one: its make setup runs scripts/find-aws-python.sh)"
    KEY=ASIAEDGEEXAMPLE00001 SECRET=edge-secret TOKEN=edge-session-token
    AWS_REGION=eu-west-1 start_server start-api --workers 1 --function-url --url-id abcdefghij0123456789abcdefghij01 \
        --iam "$KEY:$SECRET:$TOKEN" --principal arn:aws:sts::111122223333:assumed-role/nearjs-edge-eu-west-1/i-0abc "$FN"
    grep -q 'function URL abcdefghij0123456789abcdefghij01.lambda-url.eu-west-1.on.aws, AuthType AWS_IAM' "$T/err" ||
        fail_with "listening line"
    FURL_HOST=anything.example.test # a function URL answers any Host (the signature covers it)
    signed=(--key "$KEY" --secret "$SECRET" --token "$TOKEN" --region eu-west-1)
    furl --method POST --path '/echo?a=1' --body hello "${signed[@]}"
    [ "$code" = 200 ] || fail_with "signed POST: $code $(cat "$T/b")"
    [ -n "$(header x-amzn-requestid)" ] || fail_with "x-amzn-requestid"
    [ "$(jq_py "$T/b" 'd["requestContext"]["domainName"]')" = abcdefghij0123456789abcdefghij01.lambda-url.eu-west-1.on.aws ] ||
        fail_with "domainName"
    [ "$(jq_py "$T/b" 'd["requestContext"]["authorizer"]["iam"]["accessKey"]')" = "$KEY" ] || fail_with "authorizer.iam.accessKey"
    [ "$(jq_py "$T/b" 'd["requestContext"]["authorizer"]["iam"]["userArn"]')" = arn:aws:sts::111122223333:assumed-role/nearjs-edge-eu-west-1/i-0abc ] ||
        fail_with "authorizer.iam.userArn"
    [ "$(jq_py "$T/b" 'd["requestContext"]["authorizer"]["iam"]["accountId"]')" = 111122223333 ] || fail_with "iam.accountId"
    [ "$(jq_py "$T/b" 'd["body"]')" = hello ] || fail_with "body"
    furl --path /echo "${signed[@]}" --skew -250
    [ "$code" = 200 ] || fail_with "signed 250 s ago (inside 5 minutes): $code"
    # each refusal: 403, Lambda's words, and one log line naming the reason
    refused() { # reason-in-log furl-args...
        local why=$1
        shift
        furl "$@"
        [ "$code" = 403 ] || fail_with "$why: $code"
        [ "$(header x-amzn-errortype)" = AccessDeniedException ] || fail_with "$why: x-amzn-errortype"
        [ "$(jq_py "$T/b" 'd["Message"]')" = "Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html" ] ||
            fail_with "$why: body $(cat "$T/b")"
        [ "$(grep -c "403 AccessDeniedException: .*($why)" "$T/err")" -ge 1 ] || fail_with "$why: not logged"
    }
    refused NO_AUTH --path /echo
    refused SKEW --path /echo "${signed[@]}" --skew -301
    # 330, not 301: the signature is made before curl starts, and on a loaded machine a second or more passes
    # before the request arrives, bringing a date 301 s ahead back inside the 5 minutes (seen in CI's ASan run)
    refused SKEW --path /echo "${signed[@]}" --skew 330
    refused MISMATCH --path /echo "${signed[@]}" --tamper path
    refused MISMATCH --path /echo "${signed[@]}" --tamper query
    refused MISMATCH --path /echo "${signed[@]}" --tamper header
    refused MISMATCH --method POST --path /echo --body hello "${signed[@]}" --tamper body
    refused MISMATCH --path /echo --key "$KEY" --secret other-secret --token "$TOKEN" --region eu-west-1
    refused UNKNOWN_KEY --path /echo --key ASIAOTHEREXAMPLE0001 --secret "$SECRET" --token "$TOKEN" --region eu-west-1
    refused SCOPE --path /echo "${signed[@]}" --region us-east-1
    refused SCOPE --path /echo "${signed[@]}" --service execute-api
    refused TOKEN --path /echo --key "$KEY" --secret "$SECRET" --region eu-west-1
}
