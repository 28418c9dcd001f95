// Types of the GridPact JavaScript client kit (src/index.js).
export type Bytes = Uint8Array;
export type Hex = string;
export type Integer = number | bigint | string;
export type FieldLayout = {
  name?: string; kind: string; size?: number; max_len?: number; range?: [number, number];
  mask?: number; values?: Record<string, number>; item?: FieldLayout; fields?: FieldLayout[];
  type?: string; value?: number;
};
export type MessageLayout = { type: number; type_hex: string; name: string; module: string; fields: FieldLayout[] };
export type Message = [name: string, value: Record<string, unknown>];

export class EncodeError extends Error {}
export class DecodeError extends Error {}
export class VerifyError extends Error {}
export function encodeFields(fields: FieldLayout[], value: Record<string, unknown>): Bytes;
export function decodeFields(fields: FieldLayout[], data: Bytes): Record<string, unknown>;
export function toHex(b: Bytes): Hex;
export function fromHex(h: Hex): Bytes;

export class Registry {
  constructor(schema: { messages: MessageLayout[]; events: { type: string; fields: FieldLayout[] }[] });
  schema: any;
  messages: Map<string, MessageLayout>;
  byType: Map<number, MessageLayout>;
  message(nameOrType: string | number): MessageLayout;
  encodePayload(nameOrType: string | number, value: Record<string, unknown>): [number, Bytes];
  decodePayload(type: number, payload: Bytes): Record<string, unknown>;
  decodeEvent(type: string, data: Bytes): Record<string, unknown> | null;
}
export const registry: Registry;

export class Key {
  constructor(seed: Bytes | Hex);
  static generate(): Key;
  static fromJson(keyFile: string | { seed: Hex }): Key;
  readonly publicKey: Bytes;
  readonly seed: Bytes;
  sign(message: Bytes | Hex): Bytes;
}
export function verifySignature(publicKey: Bytes | Hex, message: Bytes | Hex, signature: Bytes | Hex): boolean;
export function sha256Of(...parts: Bytes[]): Bytes;
export class Transaction {
  constructor(t: { chainId: string; nonce: Integer; type: number; payload: Bytes | Hex; sender?: Bytes; signature?: Bytes });
  chainId: string; nonce: bigint; type: number; payload: Bytes; sender: Bytes; signature: Bytes;
  signingHash(): Bytes;
  sign(key: Key): this;
  signatureValid(): boolean;
  encode(): Bytes;
  id(): Bytes;
  hex(): Hex;
  static decode(data: Bytes | Hex): Transaction;
}
export function build(key: Key, chainId: string, nonce: Integer, message: string | number,
                      value: Record<string, unknown>, registry?: Registry): Transaction;

export function transfer(to: Bytes | Hex, amount: Integer, memo?: string): Message;
export function offer(period: Integer, qtyWh: Integer, price: Integer, meter: Bytes | Hex, commodity?: string): Message;
export function bid(period: Integer, qtyWh: Integer, price: Integer, meter: Bytes | Hex,
                    preferences?: Record<string, unknown>, commodity?: string): Message;
export function meterId(meterKey: Key): Bytes;
export function registerVirtualMeter(meterKey: Key, owner: Key | Bytes | Hex, chainId: string, o: {
  microgrid: string; source?: string | number; location?: string; firmwareVersion?: string;
  initialImportWh?: Integer; initialExportWh?: Integer }): Message;
export function reading(meterKey: Key, chainId: string, period: Integer, seq: Integer, importWh: Integer, exportWh: Integer): Message;

export type MerkleProof = { index: Integer; size: Integer; path: Hex[] };
export type Bundle = { tx_raw: Hex; receipt_raw: Hex; header_raw: Hex; tx_proof: MerkleProof; receipt_proof: MerkleProof };
export type StateProof = { siblings: Hex[]; ends_at_leaf: boolean; leaf_key_hash?: Hex; leaf_value_hash?: Hex };
export function leafHash(data: Bytes): Bytes;
export function nodeHash(left: Bytes, right: Bytes): Bytes;
export function merkleRoot(leafHashes: Bytes[]): Bytes;
export function merkleVerify(leaf: Bytes, index: Integer, size: Integer, path: Bytes[], root: Bytes | Hex): boolean;
export function decodeHeader(data: Bytes | Hex): any;
export function decodeReceipt(data: Bytes | Hex, registry?: Registry | null): any;
export function verifyBundle(bundle: Bundle, validator: Bytes | Hex, registry?: Registry | null): { tx: Transaction; receipt: any; header: any };
export function verifyState(stateRoot: Bytes | Hex, key: Bytes | Hex, value: Bytes | Hex | null, proof: StateProof): boolean;
export function verifyAccount(accountView: any, validator: Bytes | Hex): Record<Hex, Hex | null>;

export class ApiError extends Error { status: number; code: number; name: string; detail: string }
export type Event = { event: string; id: string | null; data: any };
export class Client {
  constructor(url?: string, options?: { fetch?: typeof fetch });
  get(path: string, params?: Record<string, string>): Promise<any>;
  health(): Promise<any>;
  chain(): Promise<{ chain_id: string; genesis_hash: Hex; validator: Hex; development: boolean; height: number; tx_types: any[] }>;
  account(pk: Bytes | Hex): Promise<any>;
  nonce(pk: Bytes | Hex): Promise<bigint>;
  tx(id: Bytes | Hex): Promise<{ tx: any; receipt: any; header: any; bundle: Bundle }>;
  block(height?: number | 'latest'): Promise<any>;
  state(key: Bytes | Hex, height?: number): Promise<any>;
  query(module: string, path: string, params?: Record<string, unknown>): Promise<any>;
  submit(txs: Transaction | Bytes | Hex, options?: { wait?: boolean; timeoutMs?: number }): Promise<any>;
  submit(txs: (Transaction | Bytes | Hex)[], options?: { wait?: boolean; timeoutMs?: number }): Promise<any[]>;
  events(path: string, params?: Record<string, string>, signal?: AbortSignal): AsyncGenerator<Event>;
  blocks(fromHeight?: number, signal?: AbortSignal): AsyncGenerator<Event>;
  accountEvents(pk: Bytes | Hex, signal?: AbortSignal): AsyncGenerator<Event>;
}
