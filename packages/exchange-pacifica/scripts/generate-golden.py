"""
Regenerates test/fixtures/golden-signing.json from the official Pacifica Python SDK.

The message building runs the SDK's own `common/utils.py` (`sign_message` -> `prepare_message` ->
`sort_json_keys` -> `json.dumps(..., separators=(",", ":"))`), imported from a checkout of
github.com/pacifica-fi/python-sdk given on the command line; nothing of it is copied here. The
ed25519 signature comes from libsodium (PyNaCl) and the base58 text from the `base58` package, both
independent of the TypeScript libraries the adapter uses (@noble/curves, @scure/base).

Request bodies are assembled the way the SDK examples do: {**request_header, **signature_payload}.

Usage (Debian: apt-get install python3-nacl python3-base58):
  /usr/bin/python3 scripts/generate-golden.py /path/to/python-sdk > test/fixtures/golden-signing.json
"""

import json
import subprocess
import sys
import types

import base58
import nacl.signing

sdk_path = sys.argv[1]
sys.path.insert(0, sdk_path)
# The SDK imports `subprocess` for hardware wallets only; `base58` is the real package.
from common.utils import sign_message  # noqa: E402  (the SDK's code, run as is)

sdk_commit = subprocess.run(
    ["git", "-C", sdk_path, "rev-parse", "HEAD"], capture_output=True, text=True
).stdout.strip() or "unknown"

# The example private key printed in the SDK's own example scripts (rest/create_limit_order.py, ...).
SDK_EXAMPLE_PRIVATE_KEY = (
    "2Z2Wn4kN5ZNhZzuFTQSyTiN4ixX8U6ew5wPDJbHngZaC3zF3uWNj4dQ63cnGfXpw1cESZPCqvoZE7VURyuj9kf8b"
)
# RFC 8032 section 7.1 TEST 1 seed: a published test key, used here as an agent wallet.
RFC8032_TEST1_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"


class LibsodiumKeypair:
    """The two methods of solders' Keypair that the SDK examples use, on libsodium."""

    def __init__(self, seed: bytes):
        self._key = nacl.signing.SigningKey(seed)

    def pubkey(self) -> str:
        return base58.b58encode(bytes(self._key.verify_key)).decode("ascii")

    def sign_message(self, message: bytes) -> bytes:
        return self._key.sign(message).signature


main_keypair = LibsodiumKeypair(base58.b58decode(SDK_EXAMPLE_PRIVATE_KEY)[:32])
agent_keypair = LibsodiumKeypair(bytes.fromhex(RFC8032_TEST1_SEED))

TIMESTAMP = 1748970123456  # the timestamp of the docs' signing walkthrough
CLIENT_ORDER_ID = "f47ac10b-58cc-4372-a567-0e02b2c3d479"  # the docs' example client order id


def vector(name, source, operation, payload, expiry_window=5_000, signer=main_keypair, agent=False):
    header = {"timestamp": TIMESTAMP, "expiry_window": expiry_window, "type": operation}
    message, signature = sign_message(header, payload, signer)
    request_header = {"account": main_keypair.pubkey()}
    if agent:
        request_header["agent_wallet"] = signer.pubkey()
    request_header.update(
        {"signature": signature, "timestamp": TIMESTAMP, "expiry_window": expiry_window}
    )
    body = {**request_header, **payload}
    return {
        "name": name,
        "source": source,
        "type": operation,
        "timestamp": TIMESTAMP,
        "expiryWindow": expiry_window,
        "data": payload,
        "signer": "agent" if agent else "main",
        "message": message if isinstance(message, str) else json.dumps(message, separators=(",", ":")),
        "signature": signature,
        "body": json.dumps(body, separators=(",", ":")),
    }


vectors = [
    vector(
        "docs signing walkthrough",
        "docs.pacifica.fi api-documentation/api/signing/implementation",
        "create_order",
        {
            "symbol": "BTC",
            "price": "100000",
            "amount": "0.1",
            "side": "bid",
            "tif": "GTC",
            "reduce_only": False,
            "client_order_id": "12345678-1234-1234-1234-123456789abc",
        },
    ),
    vector(
        "limit order",
        "python-sdk rest/create_limit_order.py",
        "create_order",
        {
            "symbol": "BTC",
            "price": str(100_000),
            "reduce_only": False,
            "amount": "0.1",
            "side": "bid",
            "tif": "GTC",
            "client_order_id": CLIENT_ORDER_ID,
        },
    ),
    vector(
        "market order",
        "python-sdk rest/create_market_order.py",
        "create_market_order",
        {
            "symbol": "BTC",
            "reduce_only": False,
            "amount": "0.1",
            "side": "bid",
            "slippage_percent": "0.5",
            "client_order_id": CLIENT_ORDER_ID,
        },
    ),
    vector(
        "cancel order",
        "python-sdk rest/cancel_order.py",
        "cancel_order",
        {"symbol": "BTC", "order_id": 42069},
    ),
    vector(
        "cancel all orders",
        "python-sdk rest/cancel_all_orders.py",
        "cancel_all_orders",
        {"all_symbols": True, "exclude_reduce_only": False},
    ),
    vector(
        "position take profit and stop loss",
        "python-sdk rest/create_position_tpsl.py",
        "set_position_tpsl",
        {
            "symbol": "BTC",
            "side": "ask",
            "take_profit": {
                "stop_price": "120000",
                "limit_price": "120300",
                "amount": "0.1",
                "client_order_id": "e36ac10b-58cc-4372-a567-0e02b2c3d479",
            },
            "stop_loss": {"stop_price": "99800"},
        },
    ),
    vector(
        "update leverage",
        "python-sdk rest/update_leverage.py",
        "update_leverage",
        {"symbol": "BTC", "leverage": 42},
    ),
    vector(
        "stop order",
        "docs rest-api/orders/create-stop-order (side bid/ask per its field table)",
        "create_stop_order",
        {
            "symbol": "BTC",
            "side": "ask",
            "reduce_only": True,
            "stop_order": {
                "stop_price": "48000",
                "limit_price": "47950",
                "client_order_id": "d25ac10b-58cc-4372-a567-0e02b2c3d479",
                "amount": "0.1",
            },
        },
        expiry_window=30_000,
    ),
    vector(
        "bind agent wallet",
        "python-sdk rest/api_agent_keys.py",
        "bind_agent_wallet",
        {"agent_wallet": agent_keypair.pubkey()},
    ),
    vector(
        "market order signed by an agent wallet",
        "python-sdk rest/api_agent_keys.py",
        "create_market_order",
        {
            "symbol": "BTC",
            "reduce_only": False,
            "amount": "0.1",
            "side": "bid",
            "slippage_percent": "0.5",
            "client_order_id": CLIENT_ORDER_ID,
        },
        signer=agent_keypair,
        agent=True,
    ),
    vector(
        "non-ASCII text is escaped like Python's json.dumps",
        "edge case of the SDK's prepare_message (ensure_ascii)",
        "create_order",
        {"symbol": "caf\u00e9\U0001F600", "price": "1", "amount": "1", "side": "bid", "tif": "GTC", "reduce_only": False},
    ),
]

batch_actions = []
for action_type, vector_index in (("Create", 1), ("Cancel", 3)):
    batch_actions.append({"type": action_type, "data": json.loads(vectors[vector_index]["body"])})

print(
    json.dumps(
        {
            "generatedBy": "scripts/generate-golden.py",
            "sdk": {"repository": "github.com/pacifica-fi/python-sdk", "commit": sdk_commit},
            "signer": "libsodium (PyNaCl) ed25519, base58 package",
            "keys": {
                "main": {
                    "name": "SDK_EXAMPLE_PRIVATE_KEY",
                    "secretKey": SDK_EXAMPLE_PRIVATE_KEY,
                    "publicKey": main_keypair.pubkey(),
                },
                "agent": {
                    "name": "RFC8032_TEST1_SEED",
                    "seedHex": RFC8032_TEST1_SEED,
                    "publicKey": agent_keypair.pubkey(),
                },
            },
            "vectors": vectors,
            "batch": {
                "source": "python-sdk rest/batch_orders.py",
                "body": json.dumps({"actions": batch_actions}, separators=(",", ":")),
            },
        },
        indent=2,
    )
)
