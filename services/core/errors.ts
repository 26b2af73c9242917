// One error catalog for the whole platform: each error has a stable code, an HTTP status and a
// message template. Handlers throw CairnError; each surface's renderer writes its own wire shape
// (Qinling `faultstring` JSON, Keystone `error` JSON, Swift plain text). docs/errors.md documents
// every code, and a test checks the two agree.

export interface ErrorSpec {
  status: number;
  /** Template; `{name}` is replaced from the error's params. Qinling's exact strings where it had one. */
  message: string;
}

export const ERROR_CATALOG = {
  // --- generic request handling
  'request.not_found': { status: 404, message: 'The resource could not be found.' },
  'request.method_not_allowed': { status: 405, message: 'Method {method} is not allowed on this resource.' },
  'request.body_too_large': { status: 413, message: 'Request body is larger than {limit} bytes.' },
  'request.bad_json': { status: 400, message: 'Request body is not valid JSON: {reason}' },
  'request.bad_body': { status: 400, message: 'Malformed request body: {reason}' },
  'request.unsupported_media_type': { status: 415, message: 'Unsupported content type {type}.' },
  'request.missing_param': { status: 400, message: 'Required param is missing. Required: {params}' },
  'request.invalid_param': { status: 400, message: 'Invalid value for {name}: {reason}' },
  'request.unknown_argument': { status: 400, message: 'Unknown argument: {name}' },
  'internal': { status: 500, message: 'Internal server error (request {requestId}).' },
  'unavailable': { status: 503, message: '{reason}' },

  // --- identity
  'auth.required': { status: 401, message: 'The request you have made requires authentication.' },
  'auth.invalid_token': { status: 401, message: 'The token is invalid or has expired.' },
  'auth.bad_credentials': { status: 401, message: 'Invalid username or password.' },
  'auth.forbidden': { status: 403, message: 'Operation not allowed' },
  'auth.unknown_method': { status: 400, message: 'Unsupported authentication method: {method}' },
  'identity.project_not_found': { status: 404, message: 'Could not find project: {project}.' },
  'identity.user_not_found': { status: 404, message: 'Could not find user: {user}.' },
  'identity.conflict': { status: 409, message: 'Conflict occurred attempting to store {kind} - duplicate entry {name}.' },
  'identity.no_project_access': { status: 401, message: 'User {user} has no access to project {project}.' },
  'identity.token_not_found': { status: 404, message: 'Could not find token.' },
  'identity.unsupported_scope': { status: 400, message: 'Scope {scope} is not supported; scope to a project or leave the token unscoped.' },

  // --- function API: runtimes
  'runtime.not_found': { status: 404, message: 'Runtime not found [id={id}]' },
  'runtime.in_use': { status: 403, message: 'Runtime {id} is still in use.' },
  'runtime.not_available': { status: 400, message: 'Runtime {id} is not available.' },
  'runtime.unavailable_for_execution': { status: 409, message: 'Runtime {id} is not available.' },
  'runtime.unknown_image': { status: 400, message: 'Runtime image {image} is not known to this platform; known images: {known}.' },

  // --- function API: functions
  'function.not_found': { status: 404, message: 'Function not found [id={id}]' },
  'function.runtime_required': { status: 400, message: '"runtime_id" must be specified.' },
  'function.invalid_code': { status: 400, message: 'Invalid code specified: {reason}' },
  'function.invalid_source': { status: 400, message: 'Invalid code source specified, available sources: package, swift, image' },
  'function.swift_incomplete': { status: 400, message: 'Both container and object must be provided for swift type function.' },
  'function.swift_invalid': { status: 400, message: 'Failed to validate object in Swift.' },
  'function.package_missing': { status: 400, message: 'Package is required for a package type function.' },
  'function.package_md5_mismatch': { status: 400, message: 'Package md5 mismatch.' },
  'function.package_invalid': { status: 400, message: 'Package is not a valid ZIP package.' },
  'function.package_unsafe': { status: 400, message: 'Package entry {entry} is not allowed: {reason}' },
  'function.package_too_large': { status: 413, message: 'Package is larger than the allowed {limit} bytes.' },
  'function.package_unpacked_too_large': { status: 413, message: 'Package unpacks to more than the allowed {limit} bytes.' },
  'function.package_too_many_entries': { status: 413, message: 'Package has more than the allowed {limit} entries.' },
  'function.not_integer': { status: 400, message: 'Invalid {name} resource specified. An integer is required.' },
  'function.limit_out_of_range': { status: 400, message: '{name} resource limitation not within the allowable range: {min} ~ {max}({unit}).' },
  'function.invalid_entry': { status: 400, message: 'Invalid entry {entry}: expected <module>.<function>.' },
  'function.code_type_changed': { status: 400, message: 'The function code type can not be changed.' },
  'function.image_code_changed': { status: 400, message: 'The image type function code can not be changed.' },
  'function.checksum_not_changed': { status: 400, message: 'The function code checksum is not changed.' },
  'function.swift_update_unsupported': { status: 400, message: 'Updating swift code needs a "code" field: {"source": "swift", "swift": {"container": ..., "object": ...}}; python-qinlingclient 5.1.1 cannot send one.' },
  'function.download_image': { status: 405, message: 'Download image function is not allowed.' },
  'function.delete_not_owner': { status: 403, message: 'Function can only be deleted by its owner.' },
  'function.has_jobs': { status: 403, message: 'The function is still associated with running job(s).' },
  'function.has_webhooks': { status: 403, message: 'The function is still associated with webhook(s).' },
  'function.has_aliases': { status: 403, message: 'The function is still associated with function alias(es).' },

  // --- function API: executions
  'execution.not_found': { status: 404, message: 'Execution not found [id={id}]' },
  'execution.function_required': { status: 400, message: 'Either function_alias or function_id must be provided.' },
  'execution.version_not_found': { status: 404, message: 'FunctionVersion not found [function_id={id}, version_number={version}]' },
  'execution.alias_not_found': { status: 404, message: 'FunctionAlias not found [name={name}]' },
  'execution.version_not_package': { status: 400, message: 'Versions are only supported for package type functions.' },
  'execution.queue_full': { status: 429, message: 'Too many executions are waiting for function {id}; retry later.' },
  'execution.bad_filter': { status: 400, message: 'Invalid filter {name}={value}: {reason}' },

  // --- executor
  'executor.stopped': { status: 503, message: 'The executor is stopped; retry later.' },
  'executor.unavailable': { status: 503, message: 'The executor cannot be reached ({reason}); retry later.' },
  'executor.protocol': { status: 502, message: 'The executor gave an unexpected answer: {reason}' },
  'internal.unauthorized': { status: 401, message: 'The internal API needs the shared internal token (CAIRN_INTERNAL_TOKEN).' },

  // --- storage (Swift API and object store; the message is the body Swift itself sends)
  'storage.invalid_name': { status: 412, message: 'Invalid UTF8 or contains NULL' },
  'storage.name_too_long': { status: 400, message: '{kind} name length of {length} longer than {max}' },
  'storage.bad_path': { status: 412, message: 'Bad URL' },
  'storage.metadata_name_empty': { status: 400, message: 'Metadata name cannot be empty' },
  'storage.metadata_not_utf8': { status: 400, message: 'Metadata must be valid UTF-8' },
  'storage.metadata_name_too_long': { status: 400, message: 'Metadata name too long: {header}' },
  'storage.metadata_value_too_long': { status: 400, message: 'Metadata value longer than {max}: {header}' },
  'storage.metadata_too_many': { status: 400, message: 'Too many metadata items; max {max}' },
  'storage.metadata_too_large': { status: 400, message: 'Total metadata too large; max {max}' },
  'storage.header_too_long': { status: 400, message: 'Header value too long: {header}' },
  'storage.bad_content_length': { status: 400, message: 'Invalid Content-Length' },
  'storage.length_required': { status: 411, message: 'Length Required' },
  'storage.transfer_coding_unsupported': { status: 501, message: 'Unsupported Transfer-Coding header value specified in Transfer-Encoding header' },
  'storage.bad_transfer_encoding': { status: 400, message: 'Invalid Transfer-Encoding header value' },
  'storage.too_large': { status: 413, message: 'Your request is too large.' },
  'storage.incomplete_body': { status: 499, message: 'Client disconnected before sending the whole body' },
  'storage.etag_mismatch': { status: 422, message: 'Unable to process the contained instructions' },
  'storage.limit_too_large': { status: 412, message: 'Maximum limit is {max}' },
  'storage.bad_listing_param': { status: 400, message: 'Invalid {name}' },
  'storage.account_forbidden': { status: 403, message: 'Access was denied to this resource.' },
  'storage.unauthorized': { status: 401, message: 'This server could not verify that you are authorized to access the document you requested.' },
  'storage.container_not_found': { status: 404, message: 'The resource could not be found.' },
  'storage.object_not_found': { status: 404, message: 'The resource could not be found.' },
  'storage.container_not_empty': { status: 409, message: 'There was a conflict when trying to complete your request.' },
  'storage.precondition_failed': { status: 412, message: 'A precondition for this request was not met.' },
  'storage.bad_storage_policy': { status: 400, message: "Invalid X-Storage-Policy '{name}'" },
  'storage.if_none_match_unsupported': { status: 400, message: 'If-None-Match only supports *' },
  'storage.range_not_satisfiable': { status: 416, message: 'The Range requested is not available.' },
  'storage.method_not_allowed': { status: 405, message: 'The method is not allowed for this resource.' },
  'storage.not_implemented': { status: 501, message: '{feature} is not supported by this deployment yet.' },
  'storage.object_too_large_to_read': { status: 413, message: 'Object {container}/{object} is larger than the allowed {limit} bytes.' },
  'storage.bad_expiry': { status: 400, message: 'Non-integer {header}' },
  'storage.delete_at_in_past': { status: 400, message: 'X-Delete-At in past' },
  'storage.bad_copy_from': { status: 412, message: '{header} header must be of the form <container name>/<object name>' },
  'storage.bad_copy_account': { status: 412, message: '{header} must be an account in this deployment' },
  'storage.bad_manifest_header': { status: 400, message: 'X-Object-Manifest must be in the format container/prefix' },
  'storage.slo_invalid': { status: 400, message: '{reason}' },
  'storage.slo_segment_errors': { status: 400, message: 'Errors:\n{errors}' },
  'storage.segment_invalid': { status: 409, message: 'Segment {segment} of this large object is gone or changed since the manifest was written.' },
  'storage.slo_segment_forbidden': { status: 409, message: 'Segments of this large object in container {container} cannot be read by this request.' },
  'storage.slo_too_large': { status: 413, message: 'Manifest File > {max} bytes' },
  'storage.bulk_too_many': { status: 413, message: 'Maximum Bulk Deletes: {max} per request' },
  'storage.bulk_bad_request': { status: 400, message: 'Invalid bulk delete request: {reason}' },
  'storage.bulk_bad_archive_format': { status: 400, message: 'Unsupported archive format' },
  'storage.bad_acl': { status: 400, message: '{header} is not valid: {reason}' },
  'storage.tempurl_invalid': { status: 401, message: 'Temp URL invalid' },
  'storage.bad_sync_to': { status: 400, message: '{reason}' },
  'storage.sync_auth_invalid': { status: 401, message: 'X-Container-Sync-Auth header not valid; contact cluster operator for support.' },
  'storage.bad_timestamp': { status: 400, message: "X-Timestamp should be a UNIX timestamp float value; was '{value}'" },
  'storage.sync_conflict': { status: 409, message: 'There was a conflict when trying to complete your request.' },
  'storage.quota_exceeded': { status: 413, message: 'Upload exceeds quota.' },
  'storage.bad_quota': { status: 400, message: 'Invalid {kind} quota.' },
  'storage.cors_not_allowed': { status: 401, message: 'This server could not verify that you are authorized to access the document you requested.' },
  'storage.tempurl_header_not_allowed': { status: 400, message: "The header '{header}' is not allowed in this tempurl" },
  'storage.upstream_unavailable': { status: 503, message: 'The object store upstream is unavailable: {reason}' },
  'storage.upstream_refused': { status: 502, message: 'The object store upstream refused Cairn\'s request: {reason}' },

  // --- zerocloud / storlets (code next to the data; ZeroCloud's and Storlets' own texts where they had one)
  'zerocloud.method_not_allowed': { status: 501, message: 'The job controller accepts only POST, not {method}.' },
  'zerocloud.no_content_type': { status: 400, message: 'Must specify Content-Type' },
  'zerocloud.length_required': { status: 400, message: 'Must specify Content-Length for a ZeroVM image' },
  'zerocloud.bad_target': { status: 400, message: '{reason}' },
  'zerocloud.unparseable': { status: 422, message: 'Cannot parse {what}: {reason}' },
  'zerocloud.invalid_job': { status: 400, message: 'Invalid job: {reason}' },
  'zerocloud.no_shebang': { status: 400, message: 'Invalid script: the first line must be #!file://<system image>:<path> [args]' },
  'zerocloud.no_system_map': { status: 400, message: 'System boot map was not found' },
  'zerocloud.no_match': { status: 400, message: 'No objects found in path {path}' },
  'zerocloud.job_too_large': { status: 413, message: 'Job description is larger than the allowed {limit} bytes.' },
  'zerocloud.data_too_large': { status: 413, message: 'Data object too large: {path} is over the {limit} bytes a channel may read.' },
  'zerocloud.bad_source': { status: 412, message: 'X-Zerovm-Source must be a swift:// URL, not {value}' },
  'zerocloud.forbidden': { status: 403, message: 'Jobs read and write only the caller\'s account; {path} is in another one.' },
  'zerocloud.object_not_found': { status: 404, message: 'Object {path} not found' },
  'zerocloud.no_template': { status: 404, message: 'No application registered for {type}' },
  'zerocloud.unavailable': { status: 503, message: 'Code execution next to the data is not enabled on this deployment.' },
  'storlet.account_disabled': { status: 400, message: 'Account disabled for storlets' },
  'storlet.invalid_deployment': { status: 400, message: '{reason}' },
  'storlet.bad_request': { status: 400, message: '{reason}' },
  'storlet.no_access': { status: 401, message: 'Failed to verify access to the storlet {name}' },
  'storlet.timed_out': { status: 500, message: 'Storlet execution timed out' },
  'storlet.failed': { status: 500, message: 'Storlet execution failed: {reason}' },
  'storlet.no_metadata': { status: 503, message: 'Storlet {name} never set the metadata of its output (set_metadata must come before any data)' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOG;
export type ErrorParams = Record<string, string | number>;

/** A failure with a stable code; renderers turn it into the wire shape of their surface. */
export class CairnError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly params: ErrorParams = {},
    options?: { cause?: unknown },
  ) {
    super(formatMessage(ERROR_CATALOG[code].message, params), options);
    this.name = 'CairnError';
    this.status = ERROR_CATALOG[code].status;
  }
}

function formatMessage(template: string, params: ErrorParams): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => (key in params ? String(params[key]) : whole));
}

export function isCairnError(err: unknown): err is CairnError {
  return err instanceof CairnError;
}
