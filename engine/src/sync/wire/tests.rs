//! Byte snapshots of every message type and property-based round trips of the frame codec.

use ed25519_dalek::SigningKey;
use proptest::prelude::*;

use super::*;
use crate::identity::{OrgType, hex};
use crate::sync::membership::{
    MemberKeys, MemberProfile, OpBody, Role, SealedNames, SignedOp, WrappedKey,
};
use crate::time::Timestamp;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn bundle() -> SealedBundle {
    SealedBundle::sign(
        WorkspaceId([0x11; 16]),
        1,
        DocRef([0x22; 32]),
        [0x33; NONCE_LEN],
        vec![0xaa, 0xbb],
        &key(1),
    )
}

fn create_op() -> SignedOp {
    SignedOp::sign(
        WorkspaceId([0x11; 16]),
        None,
        Timestamp(1_700_000_000_000),
        OpBody::Create {
            name: "Wijk".into(),
            coordinator: MemberProfile {
                key: OrgKey::of(&key(1)),
                name: "Gemeente".into(),
                org_type: OrgType::Gemeente,
                kx: KxKey([0x44; 32]),
            },
        },
        &key(1),
    )
}

/// One example of every message type, in type order.
fn examples() -> Vec<Message> {
    vec![
        Message::Hello {
            min_version: 2,
            max_version: 2,
            agent: "k".into(),
            nonce: [0x5a; CHALLENGE_LEN],
        },
        Message::Challenge {
            version: 2,
            relay: OrgKey([0x55; 32]),
            nonce: [0x66; CHALLENGE_LEN],
            proof: Sig([0x6a; 64]),
        },
        Message::Auth {
            workspace: WorkspaceId([0x11; 16]),
            key: OrgKey([0x77; 32]),
            signature: Sig([0x88; 64]),
        },
        Message::Welcome {
            access: Access::Member(Role::Partner),
            head: 5,
            membership_len: 3,
            epoch: 1,
        },
        Message::Push { bundle: bundle() },
        Message::Ack {
            seq: 7,
            hash: Hash32([0x99; 32]),
            duplicate: true,
        },
        Message::Pull {
            after: 2,
            limit: 100,
        },
        Message::Bundles {
            items: vec![Sequenced {
                seq: 3,
                bundle: bundle(),
            }],
            head: 3,
        },
        Message::Subscribe { after: 4 },
        Message::Pushed {
            item: Sequenced {
                seq: 4,
                bundle: bundle(),
            },
        },
        Message::MembershipPull { after: 0 },
        Message::Candidacy {
            invite_key: OrgKey([6; 32]),
            proof: Sig([7; 64]),
        },
        Message::MembershipOps {
            start: 0,
            ops: vec![create_op()],
        },
        Message::MembershipAppend { op: create_op() },
        Message::MembershipAck {
            index: 0,
            hash: Hash32([0xab; 32]),
        },
        Message::error(ErrorCode::NotMember, "nee"),
    ]
}

/// The pinned encodings of [`examples`], in the same order. A change here is a wire change:
/// bump the protocol version and say so in `docs/protocol.md`.
const SNAPSHOTS: [(&str, &str); 16] = [
    (
        "hello",
        concat!(
            "0000002902010202000000016b5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
            "5a5a5a5a5a",
        ),
    ),
    (
        "challenge",
        concat!(
            "00000083020202555555555555555555555555555555555555555555555555555555555555555566",
            "666666666666666666666666666666666666666666666666666666666666666a6a6a6a6a6a6a6a6a",
            "6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a",
            "6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a",
        ),
    ),
    (
        "auth",
        concat!(
            "00000072020311111111111111111111111111111111777777777777777777777777777777777777",
            "77777777777777777777777777778888888888888888888888888888888888888888888888888888",
            "8888888888888888888888888888888888888888888888888888888888888888888888888888",
        ),
    ),
    (
        "welcome",
        "0000001b020402000000000000000500000000000000030000000000000001",
    ),
    (
        "push",
        concat!(
            "000000b802051111111111111111111111111111111100000000000000018a88e3dd7409f195fd52",
            "db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c222222222222222222222222222222222222",
            "22222222222222222222222222223333333333333333333333333333333333333333333333330000",
            "0002aabb3ed6f71f9a810ffcd7d48903334c6bc5ba60e08c9624614e119d1913e2ccb267dba44972",
            "34b9cf6d11b6afcb4a2fa9aafee83862b9cc3ac6d9296e8ddcb89104",
        ),
    ),
    (
        "ack",
        concat!(
            "0000002b020600000000000000079999999999999999999999999999999999999999999999999999",
            "99999999999901",
        ),
    ),
    ("pull", "0000000e0207000000000000000200000064"),
    (
        "bundles",
        concat!(
            "000000cc020800000001000000000000000311111111111111111111111111111111000000000000",
            "00018a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c222222222222",
            "22222222222222222222222222222222222222222222222222223333333333333333333333333333",
            "3333333333333333333300000002aabb3ed6f71f9a810ffcd7d48903334c6bc5ba60e08c9624614e",
            "119d1913e2ccb267dba4497234b9cf6d11b6afcb4a2fa9aafee83862b9cc3ac6d9296e8ddcb89104",
            "0000000000000003",
        ),
    ),
    ("subscribe", "0000000a02090000000000000004"),
    (
        "pushed",
        concat!(
            "000000c0020a00000000000000041111111111111111111111111111111100000000000000018a88",
            "e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c22222222222222222222",
            "22222222222222222222222222222222222222222222333333333333333333333333333333333333",
            "33333333333300000002aabb3ed6f71f9a810ffcd7d48903334c6bc5ba60e08c9624614e119d1913",
            "e2ccb267dba4497234b9cf6d11b6afcb4a2fa9aafee83862b9cc3ac6d9296e8ddcb89104",
        ),
    ),
    ("membership-pull", "0000000a020b0000000000000000"),
    (
        "candidacy",
        concat!(
            "0000006202100606060606060606060606060606060606060606060606060606060606060606",
            "0707070707070707070707070707070707070707070707070707070707070707070707070707070707",
            "0707070707070707070707070707070707070707070707",
        ),
    ),
    (
        "membership-ops",
        concat!(
            "000000dd020c00000000000000000000000111111111111111111111111111111111008a88e3dd74",
            "09f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c0000018bcfe568000100000004",
            "57696a6b8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c00000008",
            "47656d65656e74650044444444444444444444444444444444444444444444444444444444444444",
            "44d951688da8a6e8ecee40be669fe79e6d8ba3eb49e046b7f6e389889beba07556b82931b919f59b",
            "d93ef7f939d34c0f6b4645b0039caa33cf8bb944c8e9e67805",
        ),
    ),
    (
        "membership-append",
        concat!(
            "000000d1020d11111111111111111111111111111111008a88e3dd7409f195fd52db2d3cba5d72ca",
            "6709bf1d94121bf3748801b40f6f5c0000018bcfe56800010000000457696a6b8a88e3dd7409f195",
            "fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c0000000847656d65656e746500444444",
            "4444444444444444444444444444444444444444444444444444444444d951688da8a6e8ecee40be",
            "669fe79e6d8ba3eb49e046b7f6e389889beba07556b82931b919f59bd93ef7f939d34c0f6b4645b0",
            "039caa33cf8bb944c8e9e67805",
        ),
    ),
    (
        "membership-ack",
        concat!(
            "0000002a020e0000000000000000abababababababababababababababababababababababababab",
            "abababababab",
        ),
    ),
    ("error", "0000000b020f000b000000036e6565"),
];

#[test]
fn every_message_type_matches_its_byte_snapshot() {
    let examples = examples();
    assert_eq!(examples.len(), SNAPSHOTS.len());
    for (message, (name, expected)) in examples.into_iter().zip(SNAPSHOTS) {
        assert_eq!(message.name(), name);
        let bytes = encode_frame(&message);
        assert_eq!(hex(&bytes), expected, "snapshot of {name}");
        assert_eq!(decode_frame(&bytes, MAX_FRAME_BYTES).unwrap(), message);
    }
}

#[test]
fn bad_frames_get_errors_that_say_what_is_wrong() {
    let hello = encode_frame(&examples()[0]);
    assert_eq!(
        decode_frame(&hello[..hello.len() - 1], MAX_FRAME_BYTES),
        Err(WireError::Truncated { what: "frame" })
    );
    assert_eq!(
        decode_frame(&hello, 8),
        Err(WireError::FrameTooLarge { len: 45, max: 8 })
    );
    let mut old = hello.clone();
    old[4] = 1;
    assert!(matches!(
        decode_frame(&old, MAX_FRAME_BYTES),
        Err(WireError::UnsupportedVersion { version: 1, .. })
    ));
    let mut future = hello.clone();
    future[4] = 9;
    assert!(matches!(
        decode_frame(&future, MAX_FRAME_BYTES),
        Err(WireError::UnsupportedVersion { version: 9, .. })
    ));
    let mut unknown = hello.clone();
    unknown[5] = 200;
    assert_eq!(
        decode_frame(&unknown, MAX_FRAME_BYTES),
        Err(WireError::UnknownMessage { kind: 200 })
    );
    let mut padded = encode_frame(&Message::Subscribe { after: 1 });
    padded[3] += 1;
    padded.push(0);
    assert_eq!(
        decode_frame(&padded, MAX_FRAME_BYTES),
        Err(WireError::TrailingBytes {
            what: "subscribe",
            extra: 1
        })
    );
    assert_eq!(
        decode_frame(&[0, 0, 0, 1, 1], MAX_FRAME_BYTES),
        Err(WireError::FrameTooShort { len: 1 })
    );
    assert_eq!(
        decode_frame(&[0xff, 0xff, 0xff, 0xff], MAX_FRAME_BYTES),
        Err(WireError::FrameTooLarge {
            len: 0x1_0000_0003,
            max: MAX_FRAME_BYTES
        })
    );
}

#[test]
fn the_stream_decoder_splits_frames_fed_byte_by_byte() {
    let stream: Vec<u8> = examples().iter().flat_map(encode_frame).collect();
    let mut decoder = FrameDecoder::new(MAX_FRAME_BYTES);
    let mut out = Vec::new();
    for byte in stream {
        decoder.push(&[byte]);
        while let Some(message) = decoder.next_message().unwrap() {
            out.push(message);
        }
    }
    assert_eq!(out, examples());
    assert_eq!(decoder.buffered(), 0);
}

fn arb_bytes<const N: usize>() -> impl Strategy<Value = [u8; N]> {
    proptest::collection::vec(any::<u8>(), N).prop_map(|v| {
        let mut out = [0u8; N];
        out.copy_from_slice(&v);
        out
    })
}

fn arb_bundle() -> impl Strategy<Value = SealedBundle> {
    (
        arb_bytes::<16>(),
        any::<u64>(),
        arb_bytes::<32>(),
        arb_bytes::<32>(),
        arb_bytes::<NONCE_LEN>(),
        proptest::collection::vec(any::<u8>(), 0..64),
        arb_bytes::<64>(),
    )
        .prop_map(
            |(ws, epoch, author, doc, nonce, ciphertext, sig)| SealedBundle {
                workspace: WorkspaceId(ws),
                epoch,
                author: OrgKey(author),
                doc: DocRef(doc),
                nonce,
                ciphertext,
                signature: Sig(sig),
            },
        )
}

fn arb_role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Coordinator), Just(Role::Partner)]
}

fn arb_profile() -> impl Strategy<Value = MemberProfile> {
    (
        arb_bytes::<32>(),
        ".{0,12}",
        proptest::sample::select(OrgType::ALL.to_vec()),
        arb_bytes::<32>(),
    )
        .prop_map(|(key, name, org_type, kx)| MemberProfile {
            key: OrgKey(key),
            name,
            org_type,
            kx: KxKey(kx),
        })
}

fn arb_member_keys() -> impl Strategy<Value = MemberKeys> {
    (arb_bytes::<32>(), arb_bytes::<32>()).prop_map(|(key, kx)| MemberKeys {
        key: OrgKey(key),
        kx: KxKey(kx),
    })
}

fn arb_sealed_names() -> impl Strategy<Value = SealedNames> {
    (
        any::<u64>(),
        arb_bytes::<24>(),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(epoch, nonce, ciphertext)| SealedNames {
            epoch,
            nonce,
            ciphertext,
        })
}

fn arb_wrapped() -> impl Strategy<Value = Vec<WrappedKey>> {
    proptest::collection::vec(
        (
            arb_bytes::<32>(),
            proptest::collection::vec(any::<u8>(), 0..16),
        ),
        0..3,
    )
    .prop_map(|wrapped| {
        wrapped
            .into_iter()
            .map(|(m, sealed)| WrappedKey {
                member: OrgKey(m),
                sealed,
            })
            .collect()
    })
}

fn arb_body() -> impl Strategy<Value = OpBody> {
    prop_oneof![
        (arb_bytes::<32>(), arb_sealed_names()).prop_map(|(m, names)| OpBody::Confirm {
            member: OrgKey(m),
            names,
        }),
        (arb_bytes::<32>(), arb_role(), any::<i64>()).prop_map(|(k, role, e)| {
            OpBody::InviteConfirmed {
                invite_key: OrgKey(k),
                role,
                expires: Timestamp(e),
            }
        }),
        (
            arb_bytes::<32>(),
            arb_bytes::<64>(),
            arb_member_keys(),
            arb_wrapped()
        )
            .prop_map(|(k, proof, joiner, boxes)| OpBody::RedeemPending {
                invite_key: OrgKey(k),
                proof: Sig(proof),
                joiner,
                boxes,
            }),
        (arb_member_keys(), arb_sealed_names())
            .prop_map(|(coordinator, names)| OpBody::CreateSealed { coordinator, names }),
        (
            arb_bytes::<32>(),
            arb_bytes::<64>(),
            arb_member_keys(),
            arb_sealed_names()
        )
            .prop_map(|(k, proof, joiner, names)| OpBody::RedeemSealed {
                invite_key: OrgKey(k),
                proof: Sig(proof),
                joiner,
                names,
            }),
        (".{0,12}", arb_profile())
            .prop_map(|(name, coordinator)| OpBody::Create { name, coordinator }),
        (arb_bytes::<32>(), arb_role(), any::<i64>()).prop_map(|(k, role, e)| OpBody::Invite {
            invite_key: OrgKey(k),
            role,
            expires: Timestamp(e)
        }),
        (arb_bytes::<32>(), arb_bytes::<64>(), arb_profile()).prop_map(|(k, proof, profile)| {
            OpBody::Redeem {
                invite_key: OrgKey(k),
                proof: Sig(proof),
                profile,
            }
        }),
        arb_bytes::<32>().prop_map(|k| OpBody::RevokeInvite {
            invite_key: OrgKey(k)
        }),
        (arb_bytes::<32>(), proptest::option::of(any::<u64>())).prop_map(|(k, cutoff)| {
            OpBody::Remove {
                member: OrgKey(k),
                cutoff,
            }
        }),
        (any::<u64>(), arb_wrapped())
            .prop_map(|(epoch, wrapped)| OpBody::KeyEpoch { epoch, wrapped }),
        (
            arb_bytes::<32>(),
            proptest::collection::vec(any::<u8>(), 0..16)
        )
            .prop_map(|(m, sealed)| OpBody::ShareKeys {
                member: OrgKey(m),
                sealed
            }),
    ]
}

fn arb_op() -> impl Strategy<Value = SignedOp> {
    (
        arb_bytes::<16>(),
        proptest::option::of(arb_bytes::<32>()),
        arb_bytes::<32>(),
        any::<i64>(),
        arb_body(),
        arb_bytes::<64>(),
    )
        .prop_map(|(ws, prev, author, at, body, sig)| SignedOp {
            op: crate::sync::membership::MembershipOp {
                workspace: WorkspaceId(ws),
                prev: prev.map(Hash32),
                author: OrgKey(author),
                at: Timestamp(at),
                body,
            },
            signature: Sig(sig),
        })
}

fn arb_sequenced() -> impl Strategy<Value = Sequenced> {
    (any::<u64>(), arb_bundle()).prop_map(|(seq, bundle)| Sequenced { seq, bundle })
}

fn arb_code() -> impl Strategy<Value = ErrorCode> {
    any::<u16>().prop_map(ErrorCode::from_u16)
}

fn arb_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (any::<u8>(), any::<u8>(), ".{0,16}", arb_bytes::<32>()).prop_map(
            |(min_version, max_version, agent, nonce)| Message::Hello {
                min_version,
                max_version,
                agent,
                nonce,
            }
        ),
        (
            any::<u8>(),
            arb_bytes::<32>(),
            arb_bytes::<32>(),
            arb_bytes::<64>()
        )
            .prop_map(|(version, relay, nonce, proof)| Message::Challenge {
                version,
                relay: OrgKey(relay),
                nonce,
                proof: Sig(proof),
            }),
        (arb_bytes::<32>(), arb_bytes::<64>()).prop_map(|(k, p)| Message::Candidacy {
            invite_key: OrgKey(k),
            proof: Sig(p),
        }),
        (arb_bytes::<16>(), arb_bytes::<32>(), arb_bytes::<64>()).prop_map(|(w, k, s)| {
            Message::Auth {
                workspace: WorkspaceId(w),
                key: OrgKey(k),
                signature: Sig(s),
            }
        }),
        (
            prop_oneof![
                arb_role().prop_map(Access::Member),
                Just(Access::Candidate),
                Just(Access::Mirror)
            ],
            any::<u64>(),
            any::<u64>(),
            any::<u64>()
        )
            .prop_map(|(access, head, membership_len, epoch)| Message::Welcome {
                access,
                head,
                membership_len,
                epoch
            }),
        arb_bundle().prop_map(|bundle| Message::Push { bundle }),
        (any::<u64>(), arb_bytes::<32>(), any::<bool>()).prop_map(|(seq, h, duplicate)| {
            Message::Ack {
                seq,
                hash: Hash32(h),
                duplicate,
            }
        }),
        (any::<u64>(), any::<u32>()).prop_map(|(after, limit)| Message::Pull { after, limit }),
        (
            proptest::collection::vec(arb_sequenced(), 0..3),
            any::<u64>()
        )
            .prop_map(|(items, head)| Message::Bundles { items, head }),
        any::<u64>().prop_map(|after| Message::Subscribe { after }),
        arb_sequenced().prop_map(|item| Message::Pushed { item }),
        any::<u64>().prop_map(|after| Message::MembershipPull { after }),
        (any::<u64>(), proptest::collection::vec(arb_op(), 0..3))
            .prop_map(|(start, ops)| Message::MembershipOps { start, ops }),
        arb_op().prop_map(|op| Message::MembershipAppend { op }),
        (any::<u64>(), arb_bytes::<32>()).prop_map(|(index, h)| Message::MembershipAck {
            index,
            hash: Hash32(h)
        }),
        (arb_code(), ".{0,24}").prop_map(|(code, message)| Message::Error { code, message }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn every_message_round_trips_through_a_frame(message in arb_message()) {
        let bytes = encode_frame(&message);
        prop_assert_eq!(frame_len(&bytes, MAX_FRAME_BYTES).unwrap(), Some(bytes.len()));
        prop_assert_eq!(decode_frame(&bytes, MAX_FRAME_BYTES).unwrap(), message);
    }

    #[test]
    fn any_bytes_decode_to_a_message_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode_frame(&bytes, MAX_FRAME_BYTES);
        let mut decoder = FrameDecoder::new(1024);
        decoder.push(&bytes);
        while let Ok(Some(_)) = decoder.next_message() {}
        prop_assert!(decoder.buffered() <= bytes.len());
    }

    #[test]
    fn corrupting_one_byte_of_a_frame_never_panics(message in arb_message(), at in any::<usize>(), flip in 1u8..) {
        let mut bytes = encode_frame(&message);
        let i = at % bytes.len();
        bytes[i] ^= flip;
        if let Ok(decoded) = decode_frame(&bytes, MAX_FRAME_BYTES) {
            prop_assert_eq!(encode_frame(&decoded), bytes);
        }
    }
}
