import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface PeerEntry {
  version: number
  addrs: AddrEntry[]
  publicKey?: Uint8Array
  protocols: string[]
  metadata: MetadataEntry[]
}

export namespace PeerEntry {
  let _codec: Codec<PeerEntry>

  export const codec = (): Codec<PeerEntry> => {
    if (_codec == null) {
      _codec = message<PeerEntry>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if (obj.addrs != null && obj.addrs.length > 0) {
          for (const value of obj.addrs) {
            w.uint32(18)
            AddrEntry.codec().encode(value, w)
          }
        }

        if (obj.publicKey != null) {
          w.uint32(26)
          w.bytes(obj.publicKey)
        }

        if (obj.protocols != null && obj.protocols.length > 0) {
          for (const value of obj.protocols) {
            w.uint32(34)
            w.string(value)
          }
        }

        if (obj.metadata != null && obj.metadata.length > 0) {
          for (const value of obj.metadata) {
            w.uint32(42)
            MetadataEntry.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          addrs: [],
          protocols: [],
          metadata: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              obj.addrs.push(AddrEntry.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.addrs$
              }))
              break
            }
            case 3: {
              obj.publicKey = reader.bytes()
              break
            }
            case 4: {
              if (opts.limits?.protocols != null && obj.protocols.length === opts.limits.protocols) {
                throw new MaxLengthError('Decode error - repeated field "protocols" had too many elements')
              }

              obj.protocols.push(reader.string())
              break
            }
            case 5: {
              if (opts.limits?.metadata != null && obj.metadata.length === opts.limits.metadata) {
                throw new MaxLengthError('Decode error - repeated field "metadata" had too many elements')
              }

              obj.metadata.push(MetadataEntry.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.metadata$
              }))
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          addrs: 0,
          protocols: 0,
          metadata: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements')
              }

              for (const evt of AddrEntry.codec().stream(reader, reader.uint32(), `${prefix}.addrs[]`, {
                limits: opts.limits?.addrs$
              })) {
                yield {
                  ...evt,
                  index: obj.addrs
                }
              }

              obj.addrs++

              break
            }
            case 3: {
              yield {
                field: `${prefix}.publicKey`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              if (opts.limits?.protocols != null && obj.protocols === opts.limits.protocols) {
                throw new MaxLengthError('Streaming decode error - repeated field "protocols" had too many elements')
              }

              yield {
                field: `${prefix}.protocols[]`,
                index: obj.protocols,
                value: reader.string()
              }

              obj.protocols++

              break
            }
            case 5: {
              if (opts.limits?.metadata != null && obj.metadata === opts.limits.metadata) {
                throw new MaxLengthError('Streaming decode error - repeated field "metadata" had too many elements')
              }

              for (const evt of MetadataEntry.codec().stream(reader, reader.uint32(), `${prefix}.metadata[]`, {
                limits: opts.limits?.metadata$
              })) {
                yield {
                  ...evt,
                  index: obj.metadata
                }
              }

              obj.metadata++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface PeerEntryVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface PeerEntryAddrsMultiaddrFieldEvent {
    field: '$.addrs[].multiaddr'
    value: Uint8Array
    index: number
  }

  export interface PeerEntryAddrsTtlFieldEvent {
    field: '$.addrs[].ttl'
    value: number
    index: number
  }

  export interface PeerEntryAddrsExpiresFieldEvent {
    field: '$.addrs[].expires'
    value: number
    index: number
  }

  export interface PeerEntryPublicKeyFieldEvent {
    field: '$.publicKey'
    value: Uint8Array
  }

  export interface PeerEntryProtocolsFieldEvent {
    field: '$.protocols[]'
    index: number
    value: string
  }

  export interface PeerEntryMetadataKeyFieldEvent {
    field: '$.metadata[].key'
    value: string
    index: number
  }

  export interface PeerEntryMetadataKindFieldEvent {
    field: '$.metadata[].kind'
    value: MetadataEntry.Kind
    index: number
  }

  export interface PeerEntryMetadataValueFieldEvent {
    field: '$.metadata[].value'
    value: Uint8Array
    index: number
  }

  export function encode (obj: Partial<PeerEntry>): Uint8Array {
    return encodeMessage(obj, PeerEntry.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PeerEntry>): PeerEntry {
    return decodeMessage(buf, PeerEntry.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PeerEntry>): Generator<PeerEntryVersionFieldEvent | PeerEntryAddrsMultiaddrFieldEvent | PeerEntryAddrsTtlFieldEvent | PeerEntryAddrsExpiresFieldEvent | PeerEntryPublicKeyFieldEvent | PeerEntryProtocolsFieldEvent | PeerEntryMetadataKeyFieldEvent | PeerEntryMetadataKindFieldEvent | PeerEntryMetadataValueFieldEvent> {
    return streamMessage(buf, PeerEntry.codec(), opts)
  }
}

export interface AddrEntry {
  multiaddr: Uint8Array
  ttl: number
  expires: number
}

export namespace AddrEntry {
  let _codec: Codec<AddrEntry>

  export const codec = (): Codec<AddrEntry> => {
    if (_codec == null) {
      _codec = message<AddrEntry>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.multiaddr != null && obj.multiaddr.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.multiaddr)
        }

        if ((obj.ttl != null && obj.ttl !== 0)) {
          w.uint32(17)
          w.double(obj.ttl)
        }

        if ((obj.expires != null && obj.expires !== 0)) {
          w.uint32(25)
          w.double(obj.expires)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          multiaddr: uint8ArrayAlloc(0),
          ttl: 0,
          expires: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.multiaddr = reader.bytes()
              break
            }
            case 2: {
              obj.ttl = reader.double()
              break
            }
            case 3: {
              obj.expires = reader.double()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.multiaddr`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.ttl`,
                value: reader.double()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.expires`,
                value: reader.double()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface AddrEntryMultiaddrFieldEvent {
    field: '$.multiaddr'
    value: Uint8Array
  }

  export interface AddrEntryTtlFieldEvent {
    field: '$.ttl'
    value: number
  }

  export interface AddrEntryExpiresFieldEvent {
    field: '$.expires'
    value: number
  }

  export function encode (obj: Partial<AddrEntry>): Uint8Array {
    return encodeMessage(obj, AddrEntry.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<AddrEntry>): AddrEntry {
    return decodeMessage(buf, AddrEntry.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<AddrEntry>): Generator<AddrEntryMultiaddrFieldEvent | AddrEntryTtlFieldEvent | AddrEntryExpiresFieldEvent> {
    return streamMessage(buf, AddrEntry.codec(), opts)
  }
}

export interface MetadataEntry {
  key: string
  kind: MetadataEntry.Kind
  value: Uint8Array
}

export namespace MetadataEntry {
  export enum Kind {
    BYTES = 'BYTES',
    STRING = 'STRING',
    JSON = 'JSON'
  }

  enum __KindValues {
    BYTES = 0,
    STRING = 1,
    JSON = 2
  }

  export namespace Kind {
    export const codec = (): Codec<Kind> => {
      return enumeration<Kind>(__KindValues)
    }
  }

  let _codec: Codec<MetadataEntry>

  export const codec = (): Codec<MetadataEntry> => {
    if (_codec == null) {
      _codec = message<MetadataEntry>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.key != null && obj.key !== '')) {
          w.uint32(10)
          w.string(obj.key)
        }

        if (obj.kind != null && __KindValues[obj.kind] !== 0) {
          w.uint32(16)
          MetadataEntry.Kind.codec().encode(obj.kind, w)
        }

        if ((obj.value != null && obj.value.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.value)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          key: '',
          kind: Kind.BYTES,
          value: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.key = reader.string()
              break
            }
            case 2: {
              obj.kind = MetadataEntry.Kind.codec().decode(reader)
              break
            }
            case 3: {
              obj.value = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.key`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.kind`,
                value: MetadataEntry.Kind.codec().decode(reader)
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.value`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface MetadataEntryKeyFieldEvent {
    field: '$.key'
    value: string
  }

  export interface MetadataEntryKindFieldEvent {
    field: '$.kind'
    value: MetadataEntry.Kind
  }

  export interface MetadataEntryValueFieldEvent {
    field: '$.value'
    value: Uint8Array
  }

  export function encode (obj: Partial<MetadataEntry>): Uint8Array {
    return encodeMessage(obj, MetadataEntry.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MetadataEntry>): MetadataEntry {
    return decodeMessage(buf, MetadataEntry.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MetadataEntry>): Generator<MetadataEntryKeyFieldEvent | MetadataEntryKindFieldEvent | MetadataEntryValueFieldEvent> {
    return streamMessage(buf, MetadataEntry.codec(), opts)
  }
}
