package auditelasticsearchexporter

import "go.opentelemetry.io/collector/exporter/exporterhelper"

type exporterhelperQueue = exporterhelper.QueueBatchConfig

func exporterhelperDefaultQueue() exporterhelper.QueueBatchConfig {
	return exporterhelper.NewDefaultQueueConfig()
}
