package integration

import (
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

type exporterhelperQueue = exporterhelper.QueueBatchConfig

func configopaqueString(s string) configopaque.String { return configopaque.String(s) }
