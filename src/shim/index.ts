/** berth-shim's TypeScript side: the protocol and its client. */
export { ShimRequest, ShimReply, ShimAttachFrame, ShimRecords, ShimStatus, ShimFiles, type ShimStatusName } from './protocol.js';
export { encodeShimMessage, decodeShimMessage, findRecord, type ShimEntry, type ShimMessage } from './codec.js';
export { ShimClient, startShim, shimArgs, type ShimState, type ShimExit, type ExecOptions, type StartShimOptions } from './client.js';
export { type AttachOptions, type AttachChunk, type AttachExit, type Attachment, type OutputTarget } from './attach.js';
