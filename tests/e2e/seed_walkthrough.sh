#!/usr/bin/env bash
# The seed's walkthrough (section "Выполнение"), command for command, as a user types it.
# The test runs it with localhost:10000 replaced by the address of the system under test.
set -euo pipefail
out=${WALKTHROUGH_OUT:-$(mktemp -d)}

curl -X POST -H "Content-Type: application/json" \
    -d '{"email": "bob@email.com", "password": "1234567890", "name": "Bob", "surname": "Tallor", "birthday": "1994-04-10T20:21:25+00:00", "sex": "male", "city": "New Yourk", "interests": "programming"}' \
    http://localhost:10000/auth/sign-up
curl -X POST -H "Content-Type: application/json" \
    -d '{"email": "alice@email.com", "password": "1234567890", "name": "Alice", "surname": "Swift", "birthday": "1995-10-10T20:21:25+00:00", "sex": "female", "city": "California", "interests": "running"}' \
    http://localhost:10000/auth/sign-up

# Bob's terminal
export BOB_ACCESS_TOKEN=$(curl -X POST -H "Content-Type: application/json" \
    -d '{"email": "bob@email.com", "password": "1234567890"}' \
    http://localhost:10000/auth/sign-in | jq -r '.access_token')
echo $BOB_ACCESS_TOKEN
export ALICE_ID=$(curl -X GET -H "Content-Type: application/json" -H "Authorization: ${BOB_ACCESS_TOKEN}" \
    http://localhost:10000/auth/user/get-by-email?email=alice@email.com | jq -r '.user_id')
echo $ALICE_ID
export CHAT_ID=$(curl -X POST -H "Content-Type: application/json" -H "Authorization: ${BOB_ACCESS_TOKEN}" \
    -d '{"companion_id": "'"$ALICE_ID"'"}' \
    http://localhost:10000/messenger/create-chat | jq -r '.chat_id')
echo $CHAT_ID

# Alice's terminal: she listens on her WebSocket. A script has no terminal on stdin, so
# -U -n keep websocat listening instead of closing the socket when stdin ends.
export ALICE_ACCESS_TOKEN=$(curl -X POST -H "Content-Type: application/json" \
    -d '{"email": "alice@email.com", "password": "1234567890"}' \
    http://localhost:10000/auth/sign-in | jq -r '.access_token')
websocat -U -n ws://localhost:10000/messenger/ws\?token=${ALICE_ACCESS_TOKEN} > "$out/alice.txt" &
alice_ws=$!
sleep 1

# Bob's terminal: three frames, exactly as the seed writes them, with the real chat id.
cat > "$out/frames.txt" <<FRAMES
{"topic":"messenger", "action": "send-message", "payload":"{\"chat_id\":\"$CHAT_ID\", \"messages\":[{\"text\": \"Hello, Alice!\", \"status\": \"created\"}]}"}
{"topic":"messenger", "action": "send-message", "payload":"{\"chat_id\":\"$CHAT_ID\", \"messages\":[{\"text\": \"What is up?\", \"status\": \"created\"}]}"}
{"topic":"messenger", "action": "send-message", "payload":"{\"chat_id\":\"$CHAT_ID\", \"messages\":[{\"text\": \"I miss you!\", \"status\": \"created\"}]}"}
FRAMES
(cat "$out/frames.txt"; sleep 2) | websocat ws://localhost:10000/messenger/ws\?token=${BOB_ACCESS_TOKEN} > "$out/bob.txt"

# Ctrl+C in both terminals.
kill $alice_ws 2>/dev/null || true
wait $alice_ws 2>/dev/null || true

# History, from Alice's terminal.
curl -X GET -H "Content-Type: application/json" -H "Authorization: ${ALICE_ACCESS_TOKEN}" \
http://localhost:10000/messenger/messages?chat_id=$CHAT_ID > "$out/history.json"
echo "$CHAT_ID" > "$out/chat_id.txt"
