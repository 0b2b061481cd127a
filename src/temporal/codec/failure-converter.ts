// The failure converter for workers and clients when the codec is on: a failure's message and
// stack trace move into its encoded attributes, a payload the codec encrypts, instead of being
// stored in clear. This module is bundled into the workflow sandbox (failureConverterPath), so it
// imports only @temporalio/common.
import { DefaultFailureConverter } from '@temporalio/common';

/** Found in a workflow bundle built with this converter (see requireCodecBundle). */
export const FAILURE_CONVERTER_MARK = 'opsflow-encoding-failure-converter';

class EncodingFailureConverter extends DefaultFailureConverter {
  readonly mark = FAILURE_CONVERTER_MARK;
}

export const failureConverter = new EncodingFailureConverter({ encodeCommonAttributes: true });
