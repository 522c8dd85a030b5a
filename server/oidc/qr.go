package oidc

import (
	"encoding/base64"

	qrcode "github.com/skip2/go-qrcode"
)

// QRPNG renders text as a QR code PNG, base64-encoded for a data: URL.
func QRPNG(text string) (string, error) {
	png, err := qrcode.Encode(text, qrcode.Medium, 256)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(png), nil
}
