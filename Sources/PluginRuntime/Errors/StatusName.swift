public import CPluginABI

extension ph_status_t {
    /// The status's macro name from plugin.h (`PH_ERR_FAILED`), for messages an author acts on.
    package var macroName: String {
        switch self {
        case PH_OK: "PH_OK"
        case PH_ERR_INVALID: "PH_ERR_INVALID"
        case PH_ERR_FAILED: "PH_ERR_FAILED"
        case PH_ERR_NOT_FOUND: "PH_ERR_NOT_FOUND"
        case PH_ERR_TYPE: "PH_ERR_TYPE"
        case PH_ERR_STATE: "PH_ERR_STATE"
        case PH_ERR_UNSUPPORTED: "PH_ERR_UNSUPPORTED"
        case PH_ERR_TOO_SMALL: "PH_ERR_TOO_SMALL"
        case PH_PENDING: "PH_PENDING"
        case PH_ERR_CANCELLED: "PH_ERR_CANCELLED"
        default: "an unknown status"
        }
    }
}
